import { useSignal } from '@preact/signals';
import { Fragment, h } from 'preact';
import { useEffect } from 'preact/hooks';
import type { FinishReason, SessionInfo, Transcript, TranscriptMessage } from '@chatdrop/shared';
import { formatDateTime, formatDuration, formatNumber, formatTime } from './format.js';
import { ApiFailure, inboxApi, SignedOut } from './inbox-api.js';
import { follow, here, navigate } from './inbox-location.js';
import { HandoffsView } from './handoffs-view.js';
import { Marks } from './marks.js';
import { ReplyMarkdown } from './reply-markdown.js';
import { hrefOf } from './url-state.js';

/** What each way of ending means to a reader of the transcript. */
const ENDED: Record<FinishReason, string> = {
  stop: 'Complete',
  length: 'Cut at the length limit',
  'content-filter': 'Stopped by the content filter',
  aborted: 'Stopped before the end',
  error: 'Failed',
};

/** One conversation in full: every message, with its time, status, rating, model, sources and latency. */
export function TranscriptView({ id }: { id: string; session: SessionInfo }) {
  const location = here.value;
  const back = { ...location, conversation: undefined };
  const transcript = useSignal<Transcript | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const deleting = useSignal(false);

  useEffect(() => {
    transcript.value = undefined;
    error.value = undefined;
    inboxApi.transcript(id).then(
      (t) => (transcript.value = t),
      (failure: unknown) => {
        if (!(failure instanceof SignedOut)) error.value = failure instanceof ApiFailure ? failure.message : 'The conversation could not be loaded.';
      },
    );
  }, [id]);

  const remove = async () => {
    const handoffs = transcript.value?.handoffs?.length ? ' Its hand-offs go too: a delivery still pending is cancelled.' : '';
    if (!confirm(`Delete this conversation for good? The visitor will not see it again either.${handoffs}`)) return;
    deleting.value = true;
    try {
      await inboxApi.remove(id);
      navigate(back, { replace: true });
    } catch (failure) {
      // Already gone (a delete tried again after a 503 had done its work, or a colleague's): done.
      if (failure instanceof ApiFailure && failure.status === 404) return navigate(back, { replace: true });
      deleting.value = false;
      if (!(failure instanceof SignedOut)) error.value = failure instanceof ApiFailure ? failure.message : 'The conversation could not be deleted.';
    }
  };

  const t = transcript.value;
  const summary = t && {
    up: t.messages.filter((m) => m.rating === 'up').length,
    down: t.messages.filter((m) => m.rating === 'down').length,
    failed: t.messages.filter((m) => m.reply?.finishReason === 'error').length,
    incomplete: t.messages.filter((m) => m.role === 'assistant' && m.status === 'incomplete').length,
    handoff: t.handoff,
  };
  return (
    <section aria-labelledby="transcript-title" class="transcript">
      <p>
        <a href={hrefOf(back)} onClick={(e) => follow(e, back)}>
          ← Back to the conversations
        </a>
      </p>
      <h2 id="transcript-title" tabIndex={-1}>
        Conversation
      </h2>
      {error.value && (
        <p class="error" role="alert">
          {error.value}
        </p>
      )}
      {t === undefined ? (
        !error.value && <p role="status">Loading the conversation…</p>
      ) : (
        <div>
          <dl class="facts">
            <dt>Started</dt>
            <dd>
              <time dateTime={t.createdAt}>{formatDateTime(t.createdAt)}</time>
            </dd>
            <dt>Page</dt>
            <dd class="page">{t.page ?? 'not known'}</dd>
            <dt>Messages</dt>
            <dd>{formatNumber(t.messages.length)}</dd>
            <dt>Id</dt>
            <dd class="id">{t.id}</dd>
          </dl>
          {summary && <Marks summary={summary} />}
          {t.handoffs && <HandoffsView handoffs={t.handoffs} />}
          <ol class="messages">
            {t.messages.map((message) => (
              <Message message={message} key={message.id} />
            ))}
          </ol>
          <button type="button" class="danger" disabled={deleting.value} onClick={remove}>
            Delete conversation
          </button>
        </div>
      )}
    </section>
  );
}

function Message({ message }: { message: TranscriptMessage }) {
  const visitor = message.role === 'user';
  const reply = message.reply;
  const status = visitor ? undefined : reply ? ENDED[reply.finishReason] : message.status === 'complete' ? 'Complete' : 'Not finished';
  return (
    <li class={`message ${visitor ? 'visitor' : 'assistant'}`}>
      <article aria-label={`${visitor ? 'Visitor' : 'Assistant'} at ${formatTime(message.createdAt)}`}>
        <h3>
          {visitor ? 'Visitor' : 'Assistant'} <time dateTime={message.createdAt}>{formatTime(message.createdAt)}</time>
        </h3>
        {/* A visitor's words are text: markup in them shows as the characters typed. */}
        {visitor ? <p class="visitor-text">{message.content}</p> : <ReplyMarkdown text={message.content} />}
        {!visitor && (
          <dl class="details">
            <dt>Status</dt>
            <dd class={reply?.finishReason === 'error' ? 'bad' : message.status === 'incomplete' ? 'warn' : undefined}>
              {status}
              {reply?.errorCode ? ` (${reply.errorCode})` : ''}
            </dd>
            <dt>Rating</dt>
            <dd>{message.rating === 'up' ? '👍 Helpful' : message.rating === 'down' ? '👎 Not helpful' : 'None'}</dd>
            {reply && (
              <>
                <dt>Model</dt>
                <dd>
                  {reply.model}
                  {reply.upstreamModel ? ` (${reply.upstreamModel})` : ''}
                </dd>
                <dt>Latency</dt>
                <dd>
                  {reply.firstTokenMs === undefined ? 'no text' : `first words after ${formatDuration(reply.firstTokenMs)}`}, {`done in ${formatDuration(reply.durationMs)}`}
                </dd>
                <dt>Tokens</dt>
                <dd>{`${formatNumber(reply.inputTokens)} in, ${formatNumber(reply.outputTokens)} out`}</dd>
              </>
            )}
            {message.sources && (
              <>
                <dt>Sources</dt>
                <dd>
                  {message.sources.length === 0 ? (
                    'No knowledge covered this question'
                  ) : (
                    <ul class="sources">
                      {message.sources.map((source) => (
                        <li key={source.url}>
                          {/^https?:\/\//i.test(source.url) ? (
                            <a href={source.url} target="_blank" rel="noopener noreferrer">
                              {source.title || source.url}
                            </a>
                          ) : (
                            source.title
                          )}
                        </li>
                      ))}
                    </ul>
                  )}
                </dd>
              </>
            )}
          </dl>
        )}
      </article>
    </li>
  );
}
