import { h } from 'preact';
import type { ChatModel } from './chat-model.js';
import type { WidgetView } from './widget-view.js';
import { ChatPanel } from './chat-panel.js';

/** The panel chunk's part of the shadow root: the dialog while open (the launcher is the loader's). */
export function ChatWidget({ model, view }: { model: ChatModel; view: WidgetView }) {
  return view.open.value ? <ChatPanel model={model} view={view} /> : null;
}
