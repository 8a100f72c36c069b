import { h, Fragment, type VNode } from 'preact';
import { computed } from '@preact/signals';
import { useMemo, useRef } from 'preact/hooks';
import type { ChatModel, UiMessage } from './chat-model.js';
import type { WidgetView } from './widget-view.js';
import { CopyIcon, DownIcon, UpIcon } from './icons.js';
import { fill, type Strings } from './strings.js';
import { Markdown } from './markdown/markdown.js';
import { safeHref } from './safe-href.js';
import { useCopy } from './use-copy.js';
import { useFrameEffect } from './use-frame-effect.js';
import { Ask, HandoffForm } from './handoff-form.js';

/**
 * The conversation as a `log`. Screen readers hear each finished reply once: the log itself is
 * `aria-live="off"` (a log is polite by default, which would read every streamed token), and the
 * finished text goes into a separate polite status region. Errors are `role="alert"`.
 */
export function MessageList({ model, view }: { model: ChatModel; view: WidgetView }) {
  // (Computed values are made once with useMemo rather than useComputed, whose hook is not
  // needed: what they read, the model, the strings and a keyed message, never changes under them.)
  const { t } = view.locale;
  const s = view.settings.value;
  const list = model.messages.value;
  const streaming = model.status.value === 'streaming';
  const error = model.error.value;
  const log = useRef<HTMLDivElement>(null);
  // A reply cut at the length limit is heard with the note that says so. Only a new announcement
  // changes this (peek): a message sent after a cut reply must not make the region speak again.
  const heard = useMemo(() => computed(() => model.announcement.value + (model.messages.peek().at(-1)?.long ? ' ' + t.cutShort : '')), []);

  // Follow the reply as it grows, unless the visitor scrolled up to read.
  useFrameEffect(
    () => model.messages.value.at(-1)?.text.value,
    () => {
      const el = log.current;
      if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) requestAnimationFrame(() => (el.scrollTop = el.scrollHeight));
    },
  );

  return (
    <>
      <div class="log" role="log" aria-live="off" aria-labelledby="cd-title" ref={log}>
        {!list.length && s.greeting && <div class="msg bot">{s.greeting}</div>}
        {!list.length && s.starters.length > 0 && (
          <div class="starters">
            {s.starters.map((q) => (
              <button key={q} onClick={() => model.send(q)}>
                {q}
              </button>
            ))}
          </div>
        )}
        {list.map((m, i) => (
          <Message key={m.key} m={m} model={model} t={t} last={i === list.length - 1 && !streaming} offer={s.handoff && <Ask model={model} view={view} />} />
        ))}
        {view.handoff.value === model.conversationId.value && view.handoff.value && <HandoffForm model={model} view={view} />}
        {error && (
          <div class="err" role="alert">
            {error.retryAfter && (error.code === 'rate-limited' || error.code === 'busy') ? fill(t.retryIn, { s: error.retryAfter }) : error.message || t.error}
            {!streaming && <button onClick={() => model.retry()}>{t.retry}</button>}
          </div>
        )}
      </div>
      <div class="sr" role="status">
        {heard}
      </div>
    </>
  );
}

function Message({ m, model, t, last, offer }: { m: UiMessage; model: ChatModel; t: Strings; last: boolean; offer: false | VNode }) {
  const state = m.state.value;
  // Re-renders when the first delta arrives, not on every delta.
  const waiting = useMemo(() => computed(() => m.state.value === 'streaming' && !m.text.value), []);
  const [copied, copy] = useCopy();
  if (m.role === 'user') {
    return (
      <div class="msg user">
        <span class="sr">{t.you}: </span>
        {m.text}
      </div>
    );
  }
  const rated = m.rating.value;
  // The help pages the reply was grounded in: http(s) links only, whatever the server sent.
  const sources = m.sources.value?.flatMap((s) => {
    const href = safeHref(s.url);
    return href?.startsWith('http') ? [{ href, title: s.title || href }] : [];
  });
  return (
    <div class="msg bot">
      <span class="sr">{t.assistant}: </span>
      {waiting.value ? (
        <span class="typing" role="img" aria-label={t.typing}>
          <i />
          <i />
          <i />
        </span>
      ) : (
        <Markdown source={m.text} labels={t} />
      )}
      {m.long && <div class="note">{t.cutShort}</div>}
      {!!sources?.length && (
        <ul class="src" aria-label={t.sources}>
          {sources.map((s) => (
            <li key={s.href}>
              <a href={s.href} target="_blank" rel="noopener noreferrer">
                {s.title}
              </a>
            </li>
          ))}
        </ul>
      )}
      {state === 'done' && (
        <div class="acts">
          {m.id &&
            (['up', 'down'] as const).map((r) => (
              <button key={r} aria-label={r === 'up' ? t.helpful : t.notHelpful} aria-pressed={rated === r} onClick={() => model.rate(m, r)}>
                {r === 'up' ? <UpIcon /> : <DownIcon />}
              </button>
            ))}
          <button
            aria-label={copied ? t.copied : t.copy}
            onClick={() => copy(m.text.peek())}
          >
            <CopyIcon />
          </button>
          {/* An empty list of sources: nothing the site has answers this (knowledge's signal). */}
          {last && m.sources.value?.length === 0 && offer}
        </div>
      )}
      {state === 'cut' && last && !model.error.value && (
        <div class="note">
          {t.cutOff}
          <button onClick={() => model.retry()}>
            {t.retry}
          </button>
        </div>
      )}
    </div>
  );
}
