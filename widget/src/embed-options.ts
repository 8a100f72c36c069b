import { parseHex } from './contrast.js';

/**
 * What the script tag says. Every `data-*` attribute here overrides `/api/config`. The loader
 * reads what it needs to draw the launcher and reach the API (`readEmbedOptions`); the panel reads
 * its texts from the same attributes when it mounts (`readPanelOptions`), so their parsing is not
 * in widget.js.
 */
export interface EmbedOptions {
  /** Where the API lives, without a trailing slash: `data-api`, else the script's own origin. */
  api: string;
  /** A validated `#rgb`/`#rrggbb`; an unusable value is dropped, keeping the default accent. */
  color?: string;
  position: 'left' | 'right';
  theme: 'light' | 'dark' | 'auto';
  lang?: string;
  open: boolean;
}

/** The panel's texts from the script tag. */
export interface PanelOptions {
  title?: string;
  greeting?: string;
  /** `data-starters="How do I…?|Where is…?"`: starter questions, `|`-separated. */
  starters?: string[];
  avatar?: string;
}

const text = (value: string | undefined) => value?.trim() || undefined;

export function readEmbedOptions(script: HTMLScriptElement | null, doc: Document): EmbedOptions {
  const data = script?.dataset ?? {};
  const base = doc.location?.href;
  let api = data.api?.trim();
  if (api) api = new URL(api, base).href.replace(/\/+$/, '');
  else api = script?.src ? new URL(script.src, base).origin : (doc.location?.origin ?? '');
  const color = data.color && parseHex(data.color) ? data.color.trim() : undefined;
  return {
    api,
    color: color && (color.startsWith('#') ? color : `#${color}`),
    position: data.position === 'left' ? 'left' : 'right',
    theme: data.theme === 'dark' || data.theme === 'auto' ? data.theme : 'light',
    lang: text(data.lang) ?? text(doc.documentElement.lang),
    // `data-open` alone (empty value) means open; only an explicit "false" means closed.
    open: data.open !== undefined && data.open !== 'false',
  };
}

export function readPanelOptions(data: DOMStringMap): PanelOptions {
  return {
    title: text(data.title),
    greeting: text(data.greeting),
    starters: data.starters?.split('|').map((s) => s.trim()).filter(Boolean),
    avatar: text(data.avatar),
  };
}
