import { h, render } from 'preact';
import { createChatClient } from './chat-client.js';
import { ChatWidget } from './chat-widget.js';
import { createChatModel } from './chat-model.js';
import { createEmitter, installApi, type ChatdropApi } from './chatdrop-api.js';
import { parseHex, textColorOn } from './contrast.js';
import { readEmbedOptions } from './embed-options.js';
import { watchPhoneLayout } from './phone-layout.js';
import { mergeSettings } from './settings.js';
import { adoptStyles } from './styles.js';
import { pickLocale } from './strings.js';
import { createWidgetView } from './widget-view.js';

/**
 * Puts the widget on the page: one `<chatdrop-widget>` with an open shadow root, and
 * `window.Chatdrop`. Everything it adds to the page (the element, the global, listeners on
 * window, the page's scroll lock) is undone by `destroy()`.
 */
export function mountWidget(script: HTMLScriptElement | null, fetchFn?: typeof fetch): ChatdropApi {
  const doc = document;
  const win = window;
  const opts = readEmbedOptions(script, doc);
  const life = new AbortController();
  const { signal } = life;
  const locale = pickLocale(opts.lang);

  const host = doc.createElement('chatdrop-widget');
  const root = host.attachShadow({ mode: 'open' });
  adoptStyles(root);
  host.setAttribute('data-theme', opts.theme);
  host.setAttribute('data-position', opts.position);
  const rgb = opts.color ? parseHex(opts.color) : undefined;
  if (rgb && opts.color) {
    host.style.setProperty('--cd-accent', opts.color);
    host.style.setProperty('--cd-on-accent', textColorOn(rgb));
  }

  const events = createEmitter();
  const client = createChatClient(opts.api, fetchFn);
  const view = createWidgetView(root, locale, mergeSettings({}, opts, locale.t), (e) => events.emit(e));
  const key = `chatdrop:${new URL(opts.api, doc.baseURI).origin}`;
  let storage: Storage | undefined;
  try {
    storage = win.localStorage;
  } catch {}
  const model = createChatModel({
    client,
    storage,
    key,
    // Origin and path only (the server drops anything else too); none on an about: or file: page.
    page: () => (win.location.origin != 'null' ? win.location.origin + win.location.pathname : undefined),
    onMessage(detail) {
      if (detail.role === 'assistant' && !view.open.peek()) view.unread.value = true;
      events.emit('message', detail);
    },
  });

  // Another tab ended a reply (`:rev`) or switched conversations (the id key itself).
  win.addEventListener('storage', (e) => {
    if (e.key === key || e.key === `${key}:rev` || e.key === null) model.sync();
  }, { signal });

  // Config and the stored conversation are not needed to draw the bubble: fetch them when the
  // browser is idle, or at once if the visitor (or the page) opens the panel first.
  let loaded = false;
  const load = () => {
    if (loaded || signal.aborted) return;
    loaded = true;
    client.config().then(
      (config) => {
        if (!signal.aborted) view.settings.value = mergeSettings(config, opts, locale.t);
      },
      () => {},
    );
    void model.restore();
  };
  if (win.requestIdleCallback) {
    const handle = win.requestIdleCallback(load, { timeout: 4000 });
    signal.addEventListener('abort', () => win.cancelIdleCallback(handle));
  } else {
    const handle = setTimeout(load, 200);
    signal.addEventListener('abort', () => clearTimeout(handle));
  }

  const unwatch = watchPhoneLayout(host, view.open, signal);
  doc.body.append(host);
  render(<ChatWidget model={model} view={view} />, root);

  const api: ChatdropApi = {
    open() {
      load();
      view.setOpen(true);
    },
    close: () => view.setOpen(false),
    toggle: () => (view.open.peek() ? api.close() : api.open()),
    send(text) {
      if (typeof text !== 'string' || signal.aborted) return;
      api.open();
      void model.send(text);
    },
    reset: () => model.reset(),
    destroy() {
      if (signal.aborted) return;
      life.abort();
      model.dispose();
      unwatch();
      render(null, root);
      host.remove();
      events.clear();
      const holder = win as unknown as { Chatdrop?: unknown };
      if (holder.Chatdrop === api) delete holder.Chatdrop;
    },
    on: (event, handler) => events.on(event, handler),
  };
  installApi(win, api);
  if (opts.open) api.open();
  return api;
}
