/**
 * Every text the visitor sees or hears, per language. English is the default; a language picks
 * itself from `data-lang` or the page's `<html lang>`, by its primary subtag ("es-MX" -> es).
 */
export interface Strings {
  /** The dialog's name until `/api/config` or `data-title` gives one. */
  title: string;
  open: string;
  close: string;
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

const en: Strings = {
  title: 'Chat',
  open: 'Open chat',
  close: 'Close chat',
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

const es: Strings = {
  title: 'Chat',
  open: 'Abrir chat',
  close: 'Cerrar chat',
  hide: 'Minimizar chat',
  newConversation: 'Nueva conversación',
  demo: 'Demo',
  message: 'Mensaje',
  send: 'Enviar',
  stop: 'Detener',
  retry: 'Reintentar',
  copy: 'Copiar',
  copied: 'Copiado',
  helpful: 'Útil',
  notHelpful: 'No es útil',
  typing: 'Escribiendo…',
  cutOff: 'Esta respuesta quedó incompleta.',
  cutShort: 'Recortada al llegar al límite de longitud.',
  error: 'Algo salió mal. Inténtalo de nuevo.',
  retryIn: 'Demasiados mensajes. Inténtalo de nuevo en {s} s.',
  contact: 'Contactar con soporte',
  model: 'Modelo',
  left: 'Quedan {n} caracteres',
  you: 'Tú',
  assistant: 'Asistente',
  person: 'Hablar con una persona',
  email: 'Correo',
  note: 'Nota (opcional)',
  sent: '¡Gracias! El equipo te escribirá a {e}.',
  sources: 'Fuentes',
};

const ar: Strings = {
  title: 'محادثة',
  open: 'فتح المحادثة',
  close: 'إغلاق المحادثة',
  hide: 'تصغير المحادثة',
  newConversation: 'محادثة جديدة',
  demo: 'تجريبي',
  message: 'الرسالة',
  send: 'إرسال',
  stop: 'إيقاف',
  retry: 'إعادة المحاولة',
  copy: 'نسخ',
  copied: 'تم النسخ',
  helpful: 'مفيد',
  notHelpful: 'غير مفيد',
  typing: 'يكتب…',
  cutOff: 'انقطع هذا الرد.',
  cutShort: 'اقتُطع الرد عند حد الطول.',
  error: 'حدث خطأ ما. يرجى المحاولة مرة أخرى.',
  retryIn: 'رسائل كثيرة جدًا. حاول مرة أخرى بعد {s} ثانية.',
  contact: 'التواصل مع الدعم',
  model: 'النموذج',
  left: 'متبقٍ {n} حرفًا',
  you: 'أنت',
  assistant: 'المساعد',
  person: 'التحدث إلى شخص',
  email: 'البريد الإلكتروني',
  note: 'ملاحظة (اختيارية)',
  sent: 'شكرًا! سيراسلك الفريق على {e}.',
  sources: 'المصادر',
};

const TABLE: Record<string, Strings> = { en, es, ar };
/** Primary subtags written right to left (only Arabic has a table today; the others fall back to English). */
const RTL = ['ar', 'he', 'fa', 'ur'];

export interface Locale {
  lang: string;
  dir: 'ltr' | 'rtl';
  t: Strings;
}

/** Picks the table for a BCP 47 tag; unknown languages get English, left to right. */
export function pickLocale(tag: string | null | undefined): Locale {
  const primary = (tag ?? '').toLowerCase().split(/[-_]/)[0] ?? '';
  // Own keys only: `lang="constructor"` must not find Object.prototype's.
  const t = Object.hasOwn(TABLE, primary) ? TABLE[primary] : undefined;
  if (!t) return { lang: 'en', dir: 'ltr', t: en };
  return { lang: primary, dir: RTL.includes(primary) ? 'rtl' : 'ltr', t };
}

/** Fills `{name}` placeholders. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (all, key: string) => String(values[key] ?? all));
}
