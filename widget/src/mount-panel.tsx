import { effect } from '@preact/signals';
import { h, render } from 'preact';
import { createChatClient } from './chat-client.js';
import { ChatWidget } from './chat-widget.js';
import { createChatModel } from './chat-model.js';
import type { Panel, PanelHost } from './panel-host.js';
import { watchPhoneLayout } from './phone-layout.js';
import { mergeSettings } from './settings.js';
import { adoptStyles } from './styles.js';
import { localeOf } from './strings.js';
import { createWidgetView } from './widget-view.js';
import { readPanelOptions } from './embed-options.js';

/**
 * The panel chunk's entry, mounted by the loader (mount-widget.ts) once the visitor shows intent,
 * into the shadow root the loader made. It starts closed: it fetches `/api/config` and restores the
 * stored conversation (following a reply still running), so that the click that follows opens a
 * panel that is already there. Everything it adds (listeners, the page's scroll lock, its DOM)
 * is undone by `destroy()`; the loader removes the element and the global.
 */
export function mount({ host, root, options, data, lang, strings, key, emit, draw, fetch }: PanelHost): Panel {
  const win = window;
  const life = new AbortController();
  const { signal } = life;
  const locale = localeOf(lang, strings);
  const texts = readPanelOptions(data);
  const client = createChatClient(options.api, fetch);
  const view = createWidgetView(root, locale, mergeSettings({}, texts, locale.t), emit);
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
      emit('message', detail);
    },
    onHandoff: (detail) => emit('handoff', detail),
  });

  // Another tab ended a reply (`:rev`) or switched conversations (the id key itself).
  win.addEventListener('storage', (e) => {
    if (e.key === key || e.key === `${key}:rev` || e.key === null) model.sync();
  }, { signal });

  client.config().then(
    (config) => {
      if (!signal.aborted) view.settings.value = mergeSettings(config, texts, locale.t);
    },
    () => {},
  );
  void model.restore();

  adoptStyles(root);
  const unwatch = watchPhoneLayout(host, view.open, signal);
  // A box of its own: rendering into the shadow root itself would let Preact take the launcher
  // for a stale child and remove it.
  const box = root.appendChild(document.createElement('div'));
  render(<ChatWidget model={model} view={view} />, box);
  const undraw = effect(() => draw(view.open.value, view.unread.value));

  const panel: Panel = {
    open: () => view.setOpen(true),
    close: () => view.setOpen(false),
    toggle: () => view.setOpen(!view.open.peek()),
    send(text) {
      if (typeof text !== 'string' || signal.aborted) return;
      view.setOpen(true);
      void model.send(text);
    },
    reset: model.reset,
    destroy() {
      if (signal.aborted) return;
      life.abort();
      model.dispose();
      unwatch();
      undraw();
      render(null, box);
      box.remove();
    },
  };
  return panel;
}
