import { hashPassword } from '../inbox/password-hash.js';
import { freePort } from './redis-server.js';
import { startTestServer, type TestServer, type TestServerOptions } from './test-server.js';

/** The password of every test inbox user. */
export const PASSWORD = 'correct horse battery staple';

/** A cheap scrypt cost for tests that sign in often (the real default is in password-hash.ts). */
export const CHEAP = { logN: 10, r: 8, p: 1 };

/** `name:hash` entries for `CHATDROP_INBOX_USERS`, at the cheap cost. */
export async function inboxUsers(...names: string[]): Promise<string> {
  const entries = await Promise.all(names.map(async (name) => `${name}:${await hashPassword(PASSWORD, CHEAP)}`));
  return entries.join(',');
}

/**
 * The real app with the inbox on: listening on a port chosen first, so that its public origin
 * (`CHATDROP_PUBLIC_URL`, which the inbox checks `Origin` against) is its real address.
 */
export async function startInboxServer(options: TestServerOptions & { users?: string }): Promise<TestServer> {
  const port = options.port ?? (await freePort());
  return startTestServer({
    ...options,
    port,
    env: {
      CHATDROP_PUBLIC_URL: `http://127.0.0.1:${port}`,
      CHATDROP_INBOX_USERS: options.users ?? (await inboxUsers('alice')),
      ...options.env,
    },
  });
}

/** Requests as the inbox page makes them: same origin, JSON, with the session cookie when given. */
export function inboxFetch(server: TestServer, path: string, init: { method?: string; cookie?: string; body?: unknown; origin?: string | null; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  const origin = init.origin === undefined ? server.url : init.origin;
  if (origin !== null) headers.Origin = origin;
  if (init.cookie) headers.Cookie = init.cookie;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(server.url + path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

/** Signs in and answers the `name=value` of the session cookie. */
export async function signIn(server: TestServer, user = 'alice', password = PASSWORD, headers: Record<string, string> = {}): Promise<string> {
  const response = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user, password }, headers });
  if (response.status !== 200) throw new Error(`sign-in answered ${response.status}: ${await response.text()}`);
  const set = response.headers.get('set-cookie') ?? '';
  return set.split(';')[0] ?? '';
}
