import { createEmitter, installApi, type ChatdropApi } from './chatdrop-api.js';
import { parseHex, textColorOn } from './contrast.js';
import { readEmbedOptions } from './embed-options.js';
import { createLauncher } from './launcher.js';
import { adoptLauncherStyles } from './launcher-styles.js';
import type { LoadPanel, Panel } from './panel-host.js';
import { LAUNCHER, pickLanguage } from './strings.js';

type Queued = [name: keyof Panel, args: unknown[]];

/**
 * The loader's half of the widget: one `<chatdrop-widget>` with an open shadow root, the launcher
 * in it, and `window.Chatdrop`. The panel (Preact, the conversation) is loaded by `load` only when
 * the visitor shows intent: pointer over, focus on or a touch of the launcher, a click, `open()`,
 * `toggle()` or `send()`, `data-open`, or a conversation whose reply was still running when the
 * last page closed. Not when the page goes idle: most visitors never open the chat, and they
 * should not pay for it. Hover and focus come a few hundred milliseconds before a click, so by
 * the click the panel is usually there and opens at once.
 *
 * Calls that need the panel wait in a queue and are replayed in order once it has mounted.
 * Everything added to the page (the element, the global, the panel, its listeners, a panel still
 * loading) is undone by `destroy()`.
 */
export function mountWidget(script: HTMLScriptElement | null, load: LoadPanel, fetchFn?: typeof fetch): ChatdropApi {
  const doc = document;
  const win = window as unknown as Pick<Window, 'localStorage' | 'requestIdleCallback'> & { Chatdrop?: unknown };
  const options = readEmbedOptions(script, doc);
  const lang = pickLanguage(options.lang);
  const key = `chatdrop:${new URL(options.api, doc.baseURI).origin}`;
  const events = createEmitter();
  const queue: Queued[] = [];
  let panel: Panel | undefined;
  let loading: Promise<void> | undefined;
  let gone = false;

  const host = doc.createElement('chatdrop-widget');
  const root = host.attachShadow({ mode: 'open' });
  adoptLauncherStyles(root);
  host.setAttribute('data-theme', options.theme);
  host.setAttribute('data-position', options.position);
  // readEmbedOptions keeps only a colour parseHex accepts.
  if (options.color) {
    host.style.setProperty('--cd-accent', options.color);
    host.style.setProperty('--cd-on-accent', textColorOn(parseHex(options.color)!));
  }
  const { button, draw } = createLauncher(root, LAUNCHER[lang]!);

  /** Loads and mounts the panel once; a failed load (offline) is tried again on the next intent. */
  const intent = () => {
    loading ??= load(lang).then(
      ([chunk, strings]) => {
        if (gone) return; // destroy() while it was loading: nothing is mounted
        panel = chunk.mount({ host, root, options, data: script?.dataset ?? {}, lang, strings, key, emit: events.emit, draw, fetch: fetchFn });
        for (const [name, args] of queue.splice(0)) (panel[name] as (...a: unknown[]) => void)(...args);
      },
      () => {
        loading = undefined;
      },
    );
  };
  /** A call for the panel: at once when it is there, else queued (and, for `wants`, loads it). */
  const call =
    (name: keyof Panel, wants: boolean) =>
    (...args: unknown[]) => {
      if (gone) return;
      if (panel) return (panel[name] as (...a: unknown[]) => void)(...args);
      queue.push([name, args]);
      if (wants) intent();
    };

  for (const type of ['pointerenter', 'focus', 'touchstart']) button.addEventListener(type, intent, { passive: true });
  button.addEventListener('click', () => (panel ? panel.toggle() : api.open()));

  const api: ChatdropApi = {
    open: call('open', true),
    close: call('close', false),
    toggle: call('toggle', true),
    send: call('send', true),
    // Before the panel exists there is nothing running to stop: forgetting the stored id is the reset.
    reset() {
      if (panel || loading) return call('reset', false)();
      try {
        win.localStorage.removeItem(key);
        win.localStorage.removeItem(`${key}:run`);
      } catch {}
    },
    destroy() {
      if (gone) return;
      gone = true;
      queue.length = 0;
      panel?.destroy();
      host.remove();
      events.clear();
      if (win.Chatdrop === api) delete win.Chatdrop;
    },
    on: (event, handler) => events.on(event, handler),
  };

  doc.body.append(host);
  installApi(window, api);
  if (options.open) api.open();
  // The last page closed while a reply was still coming (chat-model.ts keeps this mark while one
  // runs): load the panel so it follows the reply to its end, and the unread dot can say so. The
  // page's first localStorage read is a synchronous trip to the browser process (milliseconds in
  // Chromium), so it waits for an idle moment rather than delay the page's first paint; the
  // server keeps the reply for its resume grace (10 s by default) meanwhile.
  const followRunning = () => {
    try {
      if (!gone && win.localStorage.getItem(`${key}:run`)) intent();
    } catch {}
  };
  if (win.requestIdleCallback) win.requestIdleCallback(followRunning, { timeout: 1000 });
  else setTimeout(followRunning, 50);
  return api;
}
