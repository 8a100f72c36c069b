import { signal } from '@preact/signals';
import type { ConversationPage, Figures, SessionInfo, Transcript } from '@chatdrop/shared';

/** The session has ended (or never began): the page shows the sign-in again. */
export class SignedOut extends Error {}

/** Bumped whenever a request finds the session over; the app then shows the sign-in. */
export const sessionEnded = signal(0);

/** A refusal with the server's own words, fit to show. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const BASE = '/api/inbox';

/**
 * The page's one door to the inbox API: same origin, so the session cookie goes along by itself
 * (the browser adds `Origin`, which the server checks on every POST and DELETE).
 */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(BASE + path, { credentials: 'same-origin', ...init });
  } catch {
    throw new ApiFailure(0, 'The server cannot be reached. Check the connection and try again.');
  }
  if (response.status === 401 && path !== '/session') {
    sessionEnded.value++;
    throw new SignedOut();
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => undefined)) as { error?: { message?: unknown } } | undefined;
    const message = typeof body?.error?.message === 'string' ? body.error.message : `The server answered ${response.status}.`;
    throw new ApiFailure(response.status, message);
  }
  return response;
}

const json = <T>(path: string) => call(path).then((r) => r.json() as Promise<T>);

export const inboxApi = {
  /** Who is signed in; undefined when nobody is. */
  async session(): Promise<SessionInfo | undefined> {
    const response = await fetch(`${BASE}/session`, { credentials: 'same-origin' }).catch(() => undefined);
    if (response === undefined) throw new ApiFailure(0, 'The server cannot be reached. Check the connection and try again.');
    if (response.status === 401) return undefined;
    if (!response.ok) throw new ApiFailure(response.status, `The server answered ${response.status}.`);
    return response.json() as Promise<SessionInfo>;
  },
  signIn: (user: string, password: string) =>
    call('/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user, password }) }),
  signOut: () => call('/session', { method: 'DELETE' }),
  conversations: (query: string) => json<ConversationPage>(`/conversations?${query}`),
  transcript: (id: string) => json<Transcript>(`/conversations/${encodeURIComponent(id)}`),
  remove: (id: string) => call(`/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  figures: (days: number) => json<Figures>(`/figures?days=${days}`),
  /** A link, not a fetch: the browser downloads the stream straight to disk. */
  exportUrl: (format: 'jsonl' | 'csv', query: string) => `${BASE}/export?format=${format}${query ? `&${query}` : ''}`,
};
