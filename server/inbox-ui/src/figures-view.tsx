import { useSignal } from '@preact/signals';
import { Fragment, h } from 'preact';
import { useEffect } from 'preact/hooks';
import type { Figures, KnowledgeFailureReason, SessionInfo } from '@chatdrop/shared';
import { formatDateTime, formatNumber } from './format.js';
import { ApiFailure, inboxApi, SignedOut } from './inbox-api.js';

const RANGES = [7, 14, 30, 90];

/** Why the crawler could not read a page, for a reader: a reason without words here is a typecheck error. */
const FAILURE: Record<KnowledgeFailureReason, string> = {
  robots: 'Blocked by robots.txt',
  'off-origin': 'On another site',
  'redirect-off-origin': 'Redirected to another site',
  'too-many-redirects': 'Too many redirects',
  'http-error': 'Error answer from the site',
  gone: 'Gone (404 or 410)',
  'unsupported-type': 'Not HTML, markdown or text',
  'too-large': 'Too large',
  timeout: 'Too slow to answer',
  network: 'Could not be reached',
  unparsable: 'Could not be read',
  noindex: 'Marked not to be indexed',
  empty: 'No text',
  'max-pages': 'Past the page limit',
};

/** Daily figures per UTC day (the budget's day), today's tokens against the budget, and knowledge. */
export function FiguresView({ session }: { session: SessionInfo }) {
  const days = useSignal(14);
  const figures = useSignal<Figures | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  useEffect(() => {
    error.value = undefined;
    inboxApi.figures(days.value).then(
      (f) => (figures.value = f),
      (failure: unknown) => {
        if (!(failure instanceof SignedOut)) error.value = failure instanceof ApiFailure ? failure.message : 'The figures could not be loaded.';
      },
    );
  }, [days.value]);

  const f = figures.value;
  const rows = f ? [...f.days].reverse() : [];
  const total = (key: 'conversations' | 'messages' | 'up' | 'down' | 'failed' | 'uncovered' | 'tokens') => rows.reduce((sum, d) => sum + d[key], 0);
  return (
    <section aria-labelledby="figures-title">
      <h2 id="figures-title" tabIndex={-1}>
        Daily figures
      </h2>
      <div class="field inline">
        <label for="days">Days shown</label>
        <select id="days" value={String(days.value)} onChange={(e) => (days.value = Number((e.currentTarget as HTMLSelectElement).value))}>
          {RANGES.map((n) => (
            <option value={String(n)} key={n}>{`Last ${n} days`}</option>
          ))}
        </select>
      </div>
      {error.value && (
        <p class="error" role="alert">
          {error.value}
        </p>
      )}
      {f === undefined ? (
        !error.value && <p role="status">Loading the figures…</p>
      ) : (
        <div>
          {f.budget.limit !== null && (
            <p class="budget">
              Tokens used today: {formatNumber(f.budget.usedToday ?? 0)} of the daily budget of {formatNumber(f.budget.limit)} (
              {Math.round(((f.budget.usedToday ?? 0) / f.budget.limit) * 100)}%).
            </p>
          )}
          <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="figures-caption">
            <table class="figures">
              <caption id="figures-caption">Per day (UTC), newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  <th scope="col">Conversations</th>
                  <th scope="col">Messages</th>
                  <th scope="col">Thumbs up</th>
                  <th scope="col">Thumbs down</th>
                  <th scope="col">Failed replies</th>
                  {session.knowledge && <th scope="col">Not covered by knowledge</th>}
                  <th scope="col">Tokens</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((d) => (
                  <tr key={d.day}>
                    <th scope="row">{d.day}</th>
                    <td>{formatNumber(d.conversations)}</td>
                    <td>{formatNumber(d.messages)}</td>
                    <td>{formatNumber(d.up)}</td>
                    <td>{formatNumber(d.down)}</td>
                    <td>{formatNumber(d.failed)}</td>
                    {session.knowledge && <td>{formatNumber(d.uncovered)}</td>}
                    <td>{formatNumber(d.tokens)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">All {rows.length} days</th>
                  <td>{formatNumber(total('conversations'))}</td>
                  <td>{formatNumber(total('messages'))}</td>
                  <td>{formatNumber(total('up'))}</td>
                  <td>{formatNumber(total('down'))}</td>
                  <td>{formatNumber(total('failed'))}</td>
                  {session.knowledge && <td>{formatNumber(total('uncovered'))}</td>}
                  <td>{formatNumber(total('tokens'))}</td>
                </tr>
              </tfoot>
            </table>
          </div>
          {f.knowledge !== undefined && (
            <section aria-labelledby="knowledge-title" class="knowledge">
              <h3 id="knowledge-title">Knowledge</h3>
              {f.knowledge === null ? (
                <p class="error">The knowledge status could not be read.</p>
              ) : (
                <dl class="facts">
                  <dt>Pages</dt>
                  <dd>{formatNumber(f.knowledge.pages)}</dd>
                  <dt>Passages</dt>
                  <dd>{formatNumber(f.knowledge.passages)}</dd>
                  <dt>Last crawl</dt>
                  <dd>
                    {f.knowledge.lastCrawl ? <time dateTime={f.knowledge.lastCrawl}>{formatDateTime(f.knowledge.lastCrawl)}</time> : 'not yet'}
                    {f.knowledge.crawling && ' (a crawl is running now)'}
                  </dd>
                  {f.knowledge.nextCrawl && (
                    <>
                      <dt>Next crawl</dt>
                      <dd>
                        <time dateTime={f.knowledge.nextCrawl}>{formatDateTime(f.knowledge.nextCrawl)}</time>
                      </dd>
                    </>
                  )}
                  <dt>Pages not read in the last crawl</dt>
                  <dd>
                    {Object.keys(f.knowledge.failures).length === 0 ? (
                      'none'
                    ) : (
                      <ul class="failures">
                        {(Object.entries(f.knowledge.failures) as [KnowledgeFailureReason, number][]).map(([reason, n]) => (
                          <li key={reason}>{`${FAILURE[reason] ?? reason}: ${formatNumber(n)}`}</li>
                        ))}
                      </ul>
                    )}
                  </dd>
                </dl>
              )}
            </section>
          )}
        </div>
      )}
    </section>
  );
}
