import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Router } from 'express';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { PASSWORD, inboxFetch, inboxUsers, signIn, startInboxServer } from '../test/inbox-server.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { inboxApiRouter } from './inbox-router.js';
import { hashPassword } from './password-hash.js';
import { PASSWORD_CHECKS_AT_ONCE, PASSWORD_CHECKS_WAITING } from './sign-in-route.js';
import { parseConfig } from '../config.js';

let upstream: MockUpstream;
beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  await upstream.close();
});

/** Every route the inbox API has, read from the router itself, so a new one cannot be forgotten here. */
async function inboxRoutes(): Promise<{ method: string; path: string }[]> {
  const config = parseConfig({ CHATDROP_INBOX_USERS: await inboxUsers('alice') });
  const router = inboxApiRouter({ config, users: config.inboxUsers!, store: {} as never, budget: {} as never, replies: {} as never, bus: {} as never, now: Date.now });
  const routes: { method: string; path: string }[] = [];
  const walk = (stack: Router['stack'], prefix: string) => {
    for (const layer of stack) {
      const route = layer.route as { path: string; methods: Record<string, boolean> } | undefined;
      if (route) for (const method of Object.keys(route.methods)) routes.push({ method: method.toUpperCase(), path: prefix + route.path });
      const inner = (layer.handle as unknown as { stack?: Router['stack'] }).stack;
      const mount = (layer as unknown as { rawPath?: unknown }).rawPath;
      if (inner && !route) walk(inner, prefix + (typeof mount === 'string' && mount !== '/' ? mount : ''));
    }
  };
  walk(router.stack, '/api/inbox');
  return routes.map((r) => ({ method: r.method, path: r.path.replace(/\/$/, '').replace(':id', 'AAAAAAAAAAAAAAAAAAAAAAAA') }));
}

describe('the inbox without CHATDROP_INBOX_USERS', () => {
  it('does not exist: /inbox and /api/inbox answer 404', async () => {
    const server = await startTestServer({ upstream });
    try {
      for (const path of ['/inbox', '/inbox/', '/inbox/assets/index.js', '/api/inbox', '/api/inbox/session', '/api/inbox/conversations']) {
        expect((await fetch(server.url + path)).status, path).toBe(404);
      }
      const post = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: 'alice', password: PASSWORD } });
      expect(post.status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('inbox sign-in and sessions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startInboxServer({ upstream, users: await inboxUsers('alice', 'bob', 'carol'), env: { TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers 401 on every /api/inbox route without a session, and on each with a made-up cookie', async () => {
    const routes = await inboxRoutes();
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [
        'DELETE /api/inbox/conversations/AAAAAAAAAAAAAAAAAAAAAAAA',
        'DELETE /api/inbox/session',
        'GET /api/inbox/conversations',
        'GET /api/inbox/conversations/AAAAAAAAAAAAAAAAAAAAAAAA',
        'GET /api/inbox/export',
        'GET /api/inbox/figures',
        'GET /api/inbox/session',
        'POST /api/inbox/session',
      ].sort(),
    );
    for (const cookie of [undefined, `chatdrop-inbox=${'x'.repeat(43)}`, 'chatdrop-inbox=short']) {
      for (const { method, path } of routes) {
        // The sign-in itself is "without a session" when the password is wrong.
        const body = method === 'POST' ? { user: 'alice', password: 'wrong password!' } : undefined;
        const response = await inboxFetch(server, `${path}?format=csv`, { method, ...(cookie ? { cookie } : {}), ...(body ? { body } : {}) });
        expect(response.status, `${method} ${path}`).toBe(401);
        expect(await response.json()).toEqual({ error: { code: 'bad-request', message: expect.any(String) } });
      }
    }
    // An unknown path under /api/inbox too: nothing is told before sign-in.
    expect((await inboxFetch(server, '/api/inbox/nothing-here')).status).toBe(401);
  });

  it('signs in with a right password only; the same answer for an unknown name and a wrong password', async () => {
    const wrong = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: 'alice', password: 'not the password' } });
    const unknown = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: 'mallory', password: PASSWORD } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const right = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: 'alice', password: PASSWORD } });
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ user: 'alice' });
    const set = right.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/^chatdrop-inbox=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/api\/inbox; HttpOnly; SameSite=Strict$/);
    expect(right.headers.get('cache-control')).toBe('no-store');

    const cookie = set.split(';')[0]!;
    const me = await inboxFetch(server, '/api/inbox/session', { cookie });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ user: 'alice', models: ['fast'], handoff: false, knowledge: false });
    expect(me.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('logs every failed sign-in with the name and the client, never the password', async () => {
    const secret = 'my-very-secret-guess-123';
    await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: 'bob', password: secret }, headers: { 'X-Forwarded-For': '203.0.113.50' } });
    await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: secret, password: secret }, headers: { 'X-Forwarded-For': '203.0.113.50' } });
    const failures = server.logs.filter((line) => line.includes('inbox sign-in failed')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(failures.at(-2)).toMatchObject({ user: 'bob', client: '203.0.113.50', reason: 'wrong-password' });
    // A name that is no user may be a password typed in the wrong field: only its hash is logged.
    expect(failures.at(-1)).toMatchObject({ unknownUser: expect.stringMatching(/^[0-9a-f]{12}$/), reason: 'unknown-user' });
    expect(server.logs.join('\n')).not.toContain(secret);
    expect(server.logs.join('\n')).not.toContain(PASSWORD);
  });

  it('refuses the 11th failed sign-in within a minute from one address, even with the right password', async () => {
    const from = { 'X-Forwarded-For': '198.51.100.7' };
    for (let i = 0; i < 10; i++) {
      const response = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: `user${i}`, password: 'wrong password' }, headers: from });
      expect(response.status).toBe(401);
    }
    const eleventh = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: 'alice', password: PASSWORD }, headers: from });
    expect(eleventh.status).toBe(429);
    expect(Number(eleventh.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await eleventh.json()).error.code).toBe('rate-limited');
    expect(server.logs.some((line) => line.includes('too many failed attempts') && line.includes('198.51.100.7'))).toBe(true);
    // Another client is not held back.
    await expect(signIn(server, 'alice', PASSWORD, { 'X-Forwarded-For': '198.51.100.8' })).resolves.toMatch(/^chatdrop-inbox=/);
  });

  it('refuses the 11th failed sign-in within a minute for one name, from any address', async () => {
    for (let i = 0; i < 10; i++) {
      const response = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: 'carol', password: 'wrong password' }, headers: { 'X-Forwarded-For': `2001:db8:${i}::1` } });
      expect(response.status).toBe(401);
    }
    const eleventh = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: 'carol', password: PASSWORD }, headers: { 'X-Forwarded-For': '192.0.2.99' } });
    expect(eleventh.status).toBe(429);
    // Alice is not locked out by attempts on Carol.
    await expect(signIn(server, 'alice', PASSWORD, { 'X-Forwarded-For': '192.0.2.99' })).resolves.toMatch(/^chatdrop-inbox=/);
  });

  it('refuses a POST or DELETE without the public origin, even with a valid session cookie', async () => {
    const cookie = await signIn(server, 'alice', PASSWORD, { 'X-Forwarded-For': '192.0.2.10' });
    const chat = await postChat(server.url, { message: 'Keep me' });
    const start = (await readEvents(chat)).events[0]?.event;
    if (start?.type !== 'message-start') throw new Error('no message-start');
    for (const origin of ['http://evil.example', `${server.url}.evil.example`, 'null', null]) {
      const remove = await inboxFetch(server, `/api/inbox/conversations/${start.conversationId}`, { method: 'DELETE', cookie, origin });
      expect(remove.status, String(origin)).toBe(403);
      const signOut = await inboxFetch(server, '/api/inbox/session', { method: 'DELETE', cookie, origin });
      expect(signOut.status).toBe(403);
      const signInAgain = await inboxFetch(server, '/api/inbox/session', { method: 'POST', cookie, origin, body: { user: 'alice', password: PASSWORD } });
      expect(signInAgain.status).toBe(403);
    }
    expect(await server.store.getConversation(start.conversationId)).toBeDefined();
    expect((await inboxFetch(server, '/api/inbox/session', { cookie })).status).toBe(200);
    // A preflight from elsewhere learns nothing that would let it through.
    const preflight = await fetch(`${server.url}/api/inbox/session`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'DELETE' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('signs out: the session ends on the server, not only in the browser', async () => {
    const cookie = await signIn(server, 'alice', PASSWORD, { 'X-Forwarded-For': '192.0.2.11' });
    const out = await inboxFetch(server, '/api/inbox/session', { method: 'DELETE', cookie });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^chatdrop-inbox=; Max-Age=0; Path=\/api\/inbox; HttpOnly; SameSite=Strict$/);
    expect(server.logs.some((line) => line.includes('inbox sign-out') && line.includes('"user":"alice"'))).toBe(true);
    // The old cookie, kept by someone, opens nothing any more.
    const after = await inboxFetch(server, '/api/inbox/session', { cookie });
    expect(after.status).toBe(401);
  });

  it('gives a new session id on every sign-in and ends the one the browser had', async () => {
    const first = await signIn(server, 'alice', PASSWORD, { 'X-Forwarded-For': '192.0.2.12' });
    const response = await inboxFetch(server, '/api/inbox/session', { method: 'POST', cookie: first, body: { user: 'alice', password: PASSWORD }, headers: { 'X-Forwarded-For': '192.0.2.12' } });
    const second = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(second).not.toBe(first);
    expect((await inboxFetch(server, '/api/inbox/session', { cookie: first })).status).toBe(401);
    expect((await inboxFetch(server, '/api/inbox/session', { cookie: second })).status).toBe(200);
  });

  it('refuses a malformed sign-in with 400 and does not answer 500 to junk', async () => {
    for (const body of [{}, { user: 'alice' }, { user: 1, password: 2 }, { user: 'alice', password: 'x'.repeat(2000) }]) {
      const response = await inboxFetch(server, '/api/inbox/session', { method: 'POST', body, headers: { 'X-Forwarded-For': '192.0.2.13' } });
      expect(response.status).toBe(400);
    }
    const text = await fetch(`${server.url}/api/inbox/session`, { method: 'POST', headers: { Origin: server.url, 'Content-Type': 'text/plain', 'X-Forwarded-For': '192.0.2.13' }, body: 'user=alice' });
    expect(text.status).toBe(415);
  });
});

describe('the inbox session cookie behind https', () => {
  it('is Secure and __Secure- prefixed when the public origin is https', async () => {
    const server = await startInboxServer({ upstream, env: { CHATDROP_PUBLIC_URL: 'https://chat.example.com' } });
    try {
      const response = await inboxFetch(server, '/api/inbox/session', { method: 'POST', origin: 'https://chat.example.com', body: { user: 'alice', password: PASSWORD } });
      expect(response.status).toBe(200);
      expect(response.headers.get('set-cookie')).toMatch(/^__Secure-chatdrop-inbox=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/api\/inbox; HttpOnly; SameSite=Strict; Secure$/);
      // The origin check follows the public origin, not the address the request came in on.
      expect((await inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: 'alice', password: PASSWORD } })).status).toBe(403);
    } finally {
      await server.close();
    }
  });
});

describe('password checks under a flood of sign-ins from many addresses', () => {
  it('runs only a few at once and answers the rest 503 busy at once, not queued behind each other', async () => {
    // The real cost (32 MiB, a few hundred ms each): the flood must overlap.
    const users = `alice:${await hashPassword(PASSWORD)}`;
    const server = await startInboxServer({ upstream, users, env: { TRUST_PROXY: 'loopback' } });
    try {
      // 40 addresses (a botnet) and 40 names, each well within its own limit of failures; a name
      // that is no user costs a check all the same.
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          inboxFetch(server, '/api/inbox/session', { method: 'POST', body: { user: `user${i}`, password: `guess ${i}` }, headers: { 'X-Forwarded-For': `198.18.${i}.1` } }),
        ),
      );
      const statuses = answers.map((a) => a.status);
      const busy = answers.filter((a) => a.status === 503);
      // Those that arrived while the slots and the line were full (how many depends on how the
      // 40 arrive; each check takes long enough that most overlap).
      expect(busy.length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(PASSWORD_CHECKS_AT_ONCE + PASSWORD_CHECKS_WAITING);
      expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
      expect(Number(busy[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await busy[0]!.json()).error.code).toBe('busy');
      // The flood over, the right password signs in.
      await expect(signIn(server, 'alice', PASSWORD, { 'X-Forwarded-For': '198.18.200.1' })).resolves.toMatch(/^chatdrop-inbox=/);
    } finally {
      await server.close();
    }
  }, 60_000);
});
