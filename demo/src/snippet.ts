/**
 * The pure part of the snippet builder: what a site owner picked, checked, turned into the
 * contract's embed tag (`<script src=".../widget.js" async data-...>`). No DOM here, so it is
 * tested on its own (snippet.test.ts).
 */
export const POSITIONS = ['right', 'left'] as const;
export const LANGUAGES = ['en', 'es', 'ar'] as const;
export const THEMES = ['auto', 'light', 'dark'] as const;

export interface SnippetOptions {
  color: string;
  position: (typeof POSITIONS)[number];
  title: string;
  greeting: string;
  /** Starter questions, `|`-separated as `data-starters` takes them. */
  starters: string;
  lang: (typeof LANGUAGES)[number];
  theme: (typeof THEMES)[number];
}

export const DEFAULT_OPTIONS: SnippetOptions = {
  color: '#0f766e',
  position: 'right',
  title: 'Acme Help',
  greeting: '',
  starters: '',
  lang: 'en',
  theme: 'auto',
};

const MAX_TEXT = 200;

/** Reads untrusted form values into options; anything unexpected falls back to the default. */
export function readOptions(values: Partial<Record<keyof SnippetOptions, string>>): SnippetOptions {
  const pick = <T extends string>(allowed: readonly T[], value: string | undefined, fallback: T): T =>
    allowed.find((a) => a === value) ?? fallback;
  const text = (value: string | undefined) => (value ?? '').trim().slice(0, MAX_TEXT);
  const color = (values.color ?? '').trim().toLowerCase();
  return {
    color: /^#[0-9a-f]{6}$/.test(color) ? color : DEFAULT_OPTIONS.color,
    position: pick(POSITIONS, values.position, DEFAULT_OPTIONS.position),
    title: text(values.title) || DEFAULT_OPTIONS.title,
    greeting: text(values.greeting),
    starters: (values.starters ?? '')
      .split('|')
      .map((s) => s.trim())
      .filter(Boolean)
      .join('|')
      .slice(0, 3 * MAX_TEXT),
    lang: pick(LANGUAGES, values.lang, DEFAULT_OPTIONS.lang),
    theme: pick(THEMES, values.theme, DEFAULT_OPTIONS.theme),
  };
}

/**
 * The `data-*` attributes for these options, in the order the tag shows them. An empty greeting
 * or list of starters is left out so the server's from `/api/config` applies (attributes override it).
 */
export function snippetAttributes(options: SnippetOptions): [name: string, value: string][] {
  const pairs: [string, string][] = [
    ['data-title', options.title],
    ['data-color', options.color],
    ['data-position', options.position],
    ['data-theme', options.theme],
    ['data-lang', options.lang],
  ];
  if (options.greeting) pairs.push(['data-greeting', options.greeting]);
  if (options.starters) pairs.push(['data-starters', options.starters]);
  return pairs;
}

/** Escapes text for a double-quoted HTML attribute, so a title like `"><script>` stays text. */
export function escapeAttribute(value: string): string {
  return value.replace(/[&"<>]/g, (c) => `&${{ '&': 'amp', '"': 'quot', '<': 'lt', '>': 'gt' }[c]};`);
}

/** The tag a site owner pastes: the widget from `origin` (the server's), with these options. */
export function buildSnippet(origin: string, options: SnippetOptions): string {
  const attrs = snippetAttributes(options).map(([name, value]) => `\n        ${name}="${escapeAttribute(value)}"`);
  return `<script src="${escapeAttribute(`${origin}/widget.js`)}" async${attrs.join('')}></script>`;
}
