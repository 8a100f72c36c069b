import { h } from 'preact';
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import type { ChatModel } from './chat-model.js';
import type { WidgetView } from './widget-view.js';
import { fill } from './strings.js';

/**
 * "Talk to a person", in the panel's foot and under a reply that could not answer: opens and
 * closes the form (`aria-expanded` says which).
 */
export const Ask = ({ model, view }: { model: ChatModel; view: WidgetView }) => (
  <button
    aria-expanded={!!view.handoff.value}
    onClick={() => (view.handoff.value = view.handoff.peek() ? undefined : model.conversationId.peek())}
  >
    {view.locale.t.person}
  </button>
);

/**
 * "Talk to a person": an email address (the browser checks its shape before sending, in its own
 * words; the server checks again) and an optional note. Focus starts in the address; an error
 * from the server is said in words (`role="alert"`) and focus stays in the form; once the team
 * has it, the confirmation joins the conversation and focus returns to the message box.
 * Escape closes the form, not the panel.
 */
export function HandoffForm({ model, view }: { model: ChatModel; view: WidgetView }) {
  const { t } = view.locale;
  const email = useRef<HTMLInputElement>(null);
  const note = useRef<HTMLTextAreaElement>(null);
  // 0 while sending, else the last error's words ('' for none). A signal rather than useState,
  // which the rest of the widget does not use (its hook code would cost bytes).
  const state = useSignal<string | 0>('');
  useEffect(() => email.current?.focus(), []);
  const close = () => {
    view.handoff.value = undefined;
    // Back to the message box: where the visitor goes on after the form closes.
    view.root.querySelector<HTMLElement>('.composer textarea')?.focus();
  };
  return (
    <form
      class="hand"
      aria-label={t.person}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          close();
        }
      }}
      onSubmit={async (e) => {
        e.preventDefault();
        const address = email.current!.value.trim();
        state.value = 0;
        try {
          await model.handoff(address, note.current!.value, fill(t.sent, { e: address }));
          state.value = '';
          close();
        } catch (caught) {
          state.value = (caught as Error).message || t.error;
        }
      }}
    >
      <label>
        {t.email}
        <input ref={email} type="email" required maxLength={254} autocomplete="email" />
      </label>
      <label>
        {t.note}
        <textarea ref={note} maxLength={2000} />
      </label>
      {state.value && (
        <p class="err" role="alert">
          {state.value}
        </p>
      )}
      <button class="send" disabled={state.value === 0}>
        {t.send}
      </button>
    </form>
  );
}
