import type { ChatdropEventName } from './chatdrop-api.js';
import type { EmbedOptions } from './embed-options.js';
import type { Strings } from './strings.js';

/**
 * The seam between the loader (`widget.js`: launcher, `window.Chatdrop`, intent) and the panel
 * chunk it loads on intent (`mount-panel.tsx`: Preact, the conversation, the dialog). Types only:
 * nothing here ends up in either bundle.
 */

/** What the loader hands the panel when it mounts it. */
export interface PanelHost {
  /** `<chatdrop-widget>`, already on the page with the loader's stylesheet and launcher. */
  host: HTMLElement;
  root: ShadowRoot;
  options: EmbedOptions;
  /** The script tag's `data-*` attributes, for the panel's own (`readPanelOptions`). */
  data: DOMStringMap;
  /** A language with a table (`pickLanguage`), and that table when it is not English. */
  lang: string;
  strings?: Strings;
  /** `chatdrop:<api origin>`: the conversation id's localStorage key. */
  key: string;
  /** `window.Chatdrop.on` listeners live in the loader; the panel reports through this. */
  emit(event: ChatdropEventName, detail?: unknown): void;
  /** Redraws the launcher: its name, `aria-expanded`, icon and unread dot. */
  draw(open: boolean, unread: boolean): void;
  /** Tests pass a fake server; the page's `fetch` otherwise. */
  fetch?: typeof fetch;
}

/** The panel's half of `window.Chatdrop`; `on` and the queue stay in the loader. */
export interface Panel {
  open(): void;
  close(): void;
  toggle(): void;
  send(text: string): void;
  reset(): void;
  /** Undoes what the panel added (listeners, the page's scroll lock, its DOM); the loader removes the element. */
  destroy(): void;
}

/** The panel chunk's exports. */
export interface PanelModule {
  mount(host: PanelHost): Panel;
}

/**
 * Fetches the panel chunk, and the strings chunk of `lang` when it is not English, in parallel
 * (one round trip on a cold connection).
 */
export type LoadPanel = (lang: string) => Promise<[PanelModule, Strings | undefined]>;
