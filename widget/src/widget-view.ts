import { batch, signal, type Signal } from '@preact/signals';
import type { Settings } from './settings.js';
import type { Locale } from './strings.js';

/** The widget's own UI state, apart from the conversation (chat-model.ts). */
export interface WidgetView {
  open: Signal<boolean>;
  /** A reply finished while the panel was closed. */
  unread: Signal<boolean>;
  /** The textbox's text; lives here so closing the panel keeps it. */
  draft: Signal<string>;
  settings: Signal<Settings>;
  /** The conversation the "Talk to a person" form is open for; a new conversation closes it. */
  handoff: Signal<string | undefined>;
  locale: Locale;
  /** The shadow root in the page; a Document in component tests. */
  root: DocumentOrShadowRoot & ParentNode;
  setOpen(open: boolean): void;
}

export function createWidgetView(
  root: DocumentOrShadowRoot & ParentNode,
  locale: Locale,
  settings: Settings,
  emit: (event: 'open' | 'close') => void,
): WidgetView {
  const open = signal(false);
  const unread = signal(false);
  return {
    open,
    unread,
    draft: signal(''),
    settings: signal(settings),
    handoff: signal(undefined),
    locale,
    root,
    setOpen(next) {
      if (next === open.peek()) return;
      // Focus was inside the panel (Escape, the header button): hand it back to the launcher
      // before the panel goes, so keyboard users are not dropped at the top of the page.
      // A page calling Chatdrop.close() keeps its own focus.
      if (!next && root.querySelector('.panel')?.contains(root.activeElement)) {
        root.querySelector<HTMLElement>('.launcher')?.focus();
      }
      batch(() => {
        open.value = next;
        if (next) unread.value = false;
      });
      emit(next ? 'open' : 'close');
    },
  };
}
