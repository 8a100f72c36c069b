/**
 * Everything the inbox shows is in its URL (`/inbox?rating=down&from=2030-01-01&c=<id>`), so a
 * link can be shared with a colleague and Back works. Dates are days in the reader's own time
 * zone; the API gets them as instants.
 */
export interface InboxFilters {
  q: string;
  rating: '' | 'up' | 'down';
  problem: '' | 'failed' | 'incomplete';
  handoff: '' | '1';
  model: string;
  page: string;
  /** `YYYY-MM-DD`, the first day shown. */
  from: string;
  /** `YYYY-MM-DD`, the last day shown (whole). */
  to: string;
}

export interface InboxLocation {
  filters: InboxFilters;
  view: 'list' | 'figures';
  /** The conversation shown in full, over the list. */
  conversation: string | undefined;
}

export const NO_FILTERS: InboxFilters = { q: '', rating: '', problem: '', handoff: '', model: '', page: '', from: '', to: '' };

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

export function readLocation(search: string): InboxLocation {
  const params = new URLSearchParams(search);
  const get = (name: string) => params.get(name) ?? '';
  const one = <T extends string>(value: string, allowed: readonly T[]): T | '' => ((allowed as readonly string[]).includes(value) ? (value as T) : '');
  const conversation = get('c');
  return {
    filters: {
      q: get('q').slice(0, 500),
      rating: one(get('rating'), ['up', 'down']),
      problem: one(get('problem'), ['failed', 'incomplete']),
      handoff: one(get('handoff'), ['1']),
      model: get('model').slice(0, 200),
      page: get('page').slice(0, 2048),
      from: DAY.test(get('from')) ? get('from') : '',
      to: DAY.test(get('to')) ? get('to') : '',
    },
    view: get('view') === 'figures' ? 'figures' : 'list',
    conversation: ID.test(conversation) ? conversation : undefined,
  };
}

/** The page's own URL for a location: only what is set. */
export function hrefOf(location: InboxLocation): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(location.filters)) if (value !== '') params.set(name, value);
  if (location.view === 'figures') params.set('view', 'figures');
  if (location.conversation !== undefined) params.set('c', location.conversation);
  const query = params.toString();
  return query === '' ? '/inbox' : `/inbox?${query}`;
}

/** The filters as the API's query string: the dates as instants of local midnights. */
export function apiQuery(filters: InboxFilters): string {
  const params = new URLSearchParams();
  for (const name of ['q', 'rating', 'problem', 'handoff', 'model', 'page'] as const) if (filters[name] !== '') params.set(name, filters[name]);
  if (filters.from !== '') params.set('from', localMidnight(filters.from, 0));
  if (filters.to !== '') params.set('to', localMidnight(filters.to, 1));
  return params.toString();
}

export function hasFilters(filters: InboxFilters): boolean {
  return Object.values(filters).some((value) => value !== '');
}

function localMidnight(day: string, plusDays: number): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(year, month - 1, date + plusDays).toISOString();
}
