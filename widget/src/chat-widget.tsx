import { h, Fragment } from 'preact';
import type { ChatModel } from './chat-model.js';
import type { WidgetView } from './widget-view.js';
import { ChatPanel } from './chat-panel.js';
import { Launcher } from './launcher.js';

/** The whole widget inside the shadow root: the bubble, and the panel while open. */
export function ChatWidget({ model, view }: { model: ChatModel; view: WidgetView }) {
  return (
    <>
      <Launcher view={view} />
      {view.open.value && <ChatPanel model={model} view={view} />}
    </>
  );
}
