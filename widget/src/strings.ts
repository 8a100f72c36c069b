/**
 * Every text the visitor sees or hears, per language. English is the default; a language picks
 * itself from `data-lang` or the page's `<html lang>`, by its primary subtag ("es-MX" -> es).
 * A new language is a `strings-<lang>.ts` table, its launcher names in `LAUNCHER`, and an entry in
 * the build (vite.config.ts); the types make a missing string a build error.
 */
export interface Strings {
  /** The dialog's name until `/api/config` or `data-title` gives one. */
  title: string;
  /** The header's own close button; not "Close chat", so that name stays unique to the launcher. */
  hide: string;
  newConversation: string;
  demo: string;
  message: string;
  send: string;
  stop: string;
  retry: string;
  copy: string;
  copied: string;
  helpful: string;
  notHelpful: string;
  typing: string;
  cutOff: string;
  /** Under a reply that reached the server's output-token cap (`finishReason: "length"`). */
  cutShort: string;
  error: string;
  /** Shown for a 429/503 with Retry-After; `{s}` is the number of seconds. */
  retryIn: string;
  contact: string;
  model: string;
  /** The counter near the length limit; `{n}` is the characters left. */
  left: string;
  you: string;
  assistant: string;
  /** The hand-off action, and the name of its form. */
  person: string;
  email: string;
  note: string;
  /** The confirmation in the conversation; `{e}` is the visitor's address. */
  sent: string;
  /** The label of the help pages listed under a reply. */
  sources: string;
}

export const en: Strings = {
  title: 'Chat',
  hide: 'Minimize chat',
  newConversation: 'New conversation',
  demo: 'Demo',
  message: 'Message',
  send: 'Send',
  stop: 'Stop',
  retry: 'Retry',
  copy: 'Copy',
  copied: 'Copied',
  helpful: 'Helpful',
  notHelpful: 'Not helpful',
  typing: 'Typing…',
  cutOff: 'This reply was cut off.',
  cutShort: 'Cut short at the length limit.',
  error: 'Something went wrong. Please try again.',
  retryIn: 'Too many messages. Try again in {s} s.',
  contact: 'Contact support',
  model: 'Model',
  left: '{n} characters left',
  you: 'You',
  assistant: 'Assistant',
  person: 'Talk to a person',
  email: 'Email',
  note: 'Note (optional)',
  sent: 'Thanks! The team will email you at {e}.',
  sources: 'Sources',
};

/**
 * The launcher's accessible names (while the panel is closed, while it is open) for every language that has a table. The loader
 * draws the launcher before the panel and its strings load, so these few live in the loader; the
 * panel's tables are `en` here and one chunk per other language (`strings-es.ts`, `strings-ar.ts`),
 * fetched only for pages in that language.
 */
export const LAUNCHER: Record<string, readonly [open: string, close: string]> = {
  en: ['Open chat', 'Close chat'],
  es: ['Abrir chat', 'Cerrar chat'],
  ar: ['فتح المحادثة', 'إغلاق المحادثة'],
};
/** Primary subtags written right to left (only Arabic has a table today; the others fall back to English). */
const RTL = ['ar', 'he', 'fa', 'ur'];

/**
 * The language a BCP 47 tag asks for ("es-MX" -> es) when there is a table for it, else English.
 * Own keys only: `lang="constructor"` must not find Object.prototype's.
 */
export function pickLanguage(tag: string | null | undefined): string {
  const primary = (tag ?? '').toLowerCase().split(/[-_]/)[0] ?? '';
  return Object.hasOwn(LAUNCHER, primary) ? primary : 'en';
}

export interface Locale {
  lang: string;
  dir: 'ltr' | 'rtl';
  t: Strings;
}

/** The locale of a language `pickLanguage` chose, with its table (English when it has none). */
export function localeOf(lang: string, t: Strings = en): Locale {
  return { lang, dir: RTL.includes(lang) ? 'rtl' : 'ltr', t };
}

/** Fills `{name}` placeholders. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (all, key: string) => String(values[key] ?? all));
}
