import { parseHex } from './contrast.js';

/** What the script tag says. Every `data-*` attribute here overrides `/api/config`. */
export interface EmbedOptions {
  /** Where the API lives, without a trailing slash: `data-api`, else the script's own origin. */
  api: string;
  title?: string;
  greeting?: string;
  /** `data-starters="How do I…?|Where is…?"`: starter questions, `|`-separated. */
  starters?: string[];
  /** A validated `#rgb`/`#rrggbb`; an unusable value is dropped, keeping the default accent. */
  color?: string;
  position: 'left' | 'right';
  theme: 'light' | 'dark' | 'auto';
  lang?: string;
  open: boolean;
  avatar?: string;
}

export function readEmbedOptions(script: HTMLScriptElement | null, doc: Document): EmbedOptions {
  const data = script?.dataset ?? {};
  const base = doc.location?.href;
  let api = data.api?.trim();
  if (api) api = new URL(api, base).href.replace(/\/+$/, '');
  else api = script?.src ? new URL(script.src, base).origin : (doc.location?.origin ?? '');
  const text = (value: string | undefined) => value?.trim() || undefined;
  const color = data.color && parseHex(data.color) ? data.color.trim() : undefined;
  return {
    api,
    title: text(data.title),
    greeting: text(data.greeting),
    starters: data.starters?.split('|').map((s) => s.trim()).filter(Boolean),
    color: color && (color.startsWith('#') ? color : `#${color}`),
    position: data.position === 'left' ? 'left' : 'right',
    theme: data.theme === 'dark' || data.theme === 'auto' ? data.theme : 'light',
    lang: text(data.lang) ?? text(doc.documentElement.lang),
    // `data-open` alone (empty value) means open; only an explicit "false" means closed.
    open: data.open !== undefined && data.open !== 'false',
    avatar: text(data.avatar),
  };
}
