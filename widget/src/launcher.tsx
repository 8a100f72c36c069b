import { h } from 'preact';
import type { WidgetView } from './widget-view.js';
import { ChatIcon, CloseIcon } from './icons.js';

export function Launcher({ view }: { view: WidgetView }) {
  const { t } = view.locale;
  const open = view.open.value;
  return (
    <button
      type="button"
      class="launcher"
      aria-label={open ? t.close : t.open}
      aria-expanded={open}
      onClick={() => view.setOpen(!open)}
    >
      {open ? <CloseIcon /> : <ChatIcon />}
      {view.unread.value && <span class="dot" aria-hidden="true" />}
    </button>
  );
}
