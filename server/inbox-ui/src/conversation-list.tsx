import { useSignal } from '@preact/signals';
import { h } from 'preact';
import { useEffect } from 'preact/hooks';
import type { ConversationSummary, SessionInfo } from '@chatdrop/shared';
import { FilterForm } from './filter-form.js';
import { formatDateTime, plural } from './format.js';
import { ApiFailure, inboxApi, SignedOut } from './inbox-api.js';
import { follow, here } from './inbox-location.js';
import { Marks } from './marks.js';
import { apiQuery, hasFilters, hrefOf } from './url-state.js';

const PAGE = 50;

/** The listing: filters, export links, conversations newest first, and "Show more" by cursor. */
export function ConversationList({ session }: { session: SessionInfo }) {
  const location = here.value;
  const query = apiQuery(location.filters);
  const rows = useSignal<ConversationSummary[]>([]);
  const next = useSignal<string | undefined>(undefined);
  const state = useSignal<'loading' | 'ready' | 'more'>('loading');
  const error = useSignal<string | undefined>(undefined);

  const load = async (cursor: string | undefined) => {
    state.value = cursor === undefined ? 'loading' : 'more';
    error.value = undefined;
    try {
      const page = await inboxApi.conversations(`${query}${query ? '&' : ''}limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      rows.value = cursor === undefined ? page.conversations : [...rows.value, ...page.conversations];
      next.value = page.next;
    } catch (failure) {
      if (failure instanceof SignedOut) return;
      error.value = failure instanceof ApiFailure ? failure.message : 'The conversations could not be loaded.';
    }
    state.value = 'ready';
  };
  useEffect(() => void load(undefined), [query]);

  const filtered = hasFilters(location.filters);
  const count = rows.value.length;
  return (
    <section aria-labelledby="list-title">
      <h2 id="list-title" tabIndex={-1}>
        Conversations
      </h2>
      <FilterForm session={session} />
      <p class="exports">
        <span>Export {filtered ? 'what is filtered' : 'everything'}:</span>
        <a href={inboxApi.exportUrl('jsonl', query)} download>
          Export JSONL
        </a>
        <a href={inboxApi.exportUrl('csv', query)} download>
          Export CSV
        </a>
      </p>
      <p role="status" class="status">
        {state.value === 'loading'
          ? 'Loading conversations…'
          : error.value === undefined
            ? count === 0
              ? next.value
                ? 'No match yet among the conversations searched so far.'
                : filtered
                  ? 'No conversation matches these filters.'
                  : 'No conversations yet.'
              : `${plural(count, 'conversation')} shown${next.value ? ', more below' : ''}.`
            : ''}
      </p>
      {error.value && (
        <p class="error" role="alert">
          {error.value}
        </p>
      )}
      <ol class="conversations">
        {rows.value.map((c) => (
          <li key={c.id} class="conversation">
            <a class="question" href={hrefOf({ ...location, conversation: c.id })} onClick={(e) => follow(e, { ...location, conversation: c.id })}>
              {c.firstQuestion.trim() === '' ? '(no question)' : c.firstQuestion}
            </a>
            <p class="meta">
              <time dateTime={c.createdAt}>{formatDateTime(c.createdAt)}</time>
              <span>{plural(c.messages, 'message')}</span>
              {c.page && <span class="page">{c.page}</span>}
            </p>
            <Marks summary={c} />
          </li>
        ))}
      </ol>
      {next.value !== undefined && state.value !== 'loading' && (
        <button type="button" class="more" disabled={state.value === 'more'} onClick={() => void load(next.value)}>
          {state.value === 'more' ? 'Loading…' : 'Show more conversations'}
        </button>
      )}
    </section>
  );
}
