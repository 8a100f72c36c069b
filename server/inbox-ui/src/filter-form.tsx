import { h } from 'preact';
import type { SessionInfo } from '@chatdrop/shared';
import { here, navigate } from './inbox-location.js';
import { hasFilters, NO_FILTERS, type InboxFilters } from './url-state.js';

/**
 * Search and filters, a plain form: Enter or "Apply" puts them in the URL (a new history entry),
 * which reloads the list. Every field has a visible label.
 */
export function FilterForm({ session }: { session: SessionInfo }) {
  const location = here.value;
  const f = location.filters;
  const apply = (event: SubmitEvent) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const get = (name: keyof InboxFilters) => String(data.get(name) ?? '').trim();
    const filters = {
      q: get('q'),
      rating: get('rating'),
      problem: get('problem'),
      handoff: data.get('handoff') === '1' ? '1' : '',
      model: get('model'),
      page: get('page'),
      from: get('from'),
      to: get('to'),
    } as InboxFilters;
    navigate({ ...location, filters, conversation: undefined });
  };
  // Keyed by the URL's filters, so Back shows the fields as they were.
  return (
    <form role="search" aria-label="Conversations" class="filters" onSubmit={apply} key={JSON.stringify(f)}>
      <div class="field wide">
        <label for="f-q">Search words</label>
        <input id="f-q" name="q" type="search" value={f.q} maxLength={500} placeholder="refund, password, …" />
      </div>
      <div class="field">
        <label for="f-rating">Rating</label>
        <select id="f-rating" name="rating" value={f.rating}>
          <option value="">Any</option>
          <option value="down">Rated down</option>
          <option value="up">Rated up</option>
        </select>
      </div>
      <div class="field">
        <label for="f-problem">Replies</label>
        <select id="f-problem" name="problem" value={f.problem}>
          <option value="">Any</option>
          <option value="failed">A reply failed</option>
          <option value="incomplete">A reply is incomplete</option>
        </select>
      </div>
      {session.models.length > 1 && (
        <div class="field">
          <label for="f-model">Model</label>
          <select id="f-model" name="model" value={f.model}>
            <option value="">Any</option>
            {session.models.map((model) => (
              <option value={model} key={model}>
                {model}
              </option>
            ))}
          </select>
        </div>
      )}
      <div class="field">
        <label for="f-page">Started on a page containing</label>
        <input id="f-page" name="page" value={f.page} maxLength={2048} placeholder="/pricing" />
      </div>
      <div class="field">
        <label for="f-from">From</label>
        <input id="f-from" name="from" type="date" value={f.from} />
      </div>
      <div class="field">
        <label for="f-to">To</label>
        <input id="f-to" name="to" type="date" value={f.to} />
      </div>
      {session.handoff && (
        <div class="field check">
          <input id="f-handoff" name="handoff" type="checkbox" value="1" checked={f.handoff === '1'} />
          <label for="f-handoff">Handed off to a person</label>
        </div>
      )}
      <div class="actions">
        <button type="submit">Apply</button>
        {hasFilters(f) && (
          <button type="button" class="secondary" onClick={() => navigate({ ...location, filters: NO_FILTERS, conversation: undefined })}>
            Clear filters
          </button>
        )}
      </div>
    </form>
  );
}
