import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { ChatModel } from './chat-model.js';
import type { WidgetView } from './widget-view.js';
import { fill } from './strings.js';

/** The server's message limit (contract: 413 `too-large` above it). */
export const MAX_LENGTH = 4000;
/** The counter shows once this few characters are left. */
const WARN_AT = 500;

export function Composer({ model, view }: { model: ChatModel; view: WidgetView }) {
  const { t } = view.locale;
  const box = useRef<HTMLTextAreaElement>(null);
  const draft = view.draft.value;
  const streaming = model.status.value === 'streaming';
  const left = MAX_LENGTH - draft.length;

  // Grow with the content up to the CSS max-height; CSSOM, not a style attribute (CSP).
  const fit = () => {
    const el = box.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight + 2}px`;
  };
  // The panel takes focus when it opens: straight into the textbox, where the visitor will type.
  useEffect(() => {
    fit();
    box.current?.focus();
  }, []);

  const submit = () => {
    const text = view.draft.peek().trim();
    if (!text || model.status.peek() === 'streaming') return;
    view.draft.value = '';
    void model.send(text);
    requestAnimationFrame(fit);
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <textarea
        ref={box}
        rows={1}
        aria-label={t.message}
        placeholder={t.message}
        maxLength={MAX_LENGTH}
        value={draft}
        aria-describedby={left <= WARN_AT ? 'cd-count' : undefined}
        onInput={(e) => {
          view.draft.value = e.currentTarget.value;
          fit();
        }}
        onKeyDown={(e) => {
          // Enter sends, Shift+Enter is a new line; never while an IME is composing a character.
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            submit();
          }
        }}
      />
      {streaming && (
        <button type="button" class="stop" onClick={model.stop}>
          {t.stop}
        </button>
      )}
      <button class="send" disabled={streaming || !draft.trim()}>
        {t.send}
      </button>
      {left <= WARN_AT && (
        <span id="cd-count" class="count">
          {fill(t.left, { n: left })}
        </span>
      )}
    </form>
  );
}
