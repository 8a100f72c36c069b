import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../store/redis-store.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { PASSWORD, inboxFetch, inboxUsers } from '../test/inbox-server.js';
import { postChat, readEvents } from '../test/read-sse.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

/** Both instances sit behind one public origin, as behind nginx. */
const PUBLIC = 'http://chat.example.test';

let redisProcess: ChildProcess;
let url: string;
let upstream: MockUpstream;
let clients: Redis[] = [];
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  const port = await freePort();
  redisProcess = await startRedis(port);
  url = `redis://127.0.0.1:${port}`;
  upstream = await startMockUpstream();
  const keyPrefix = `test:${randomUUID()}:`;
  const users = await inboxUsers('alice');
  const start = async (): Promise<TestServer> => {
    const redis = await connectTestClient(url);
    clients.push(redis);
    return startTestServer({
      upstream,
      store: await RedisStore.open({ url, keyPrefix }),
      inbox: { redis },
      env: { CHATDROP_PUBLIC_URL: PUBLIC, CHATDROP_INBOX_USERS: users, TRUST_PROXY: 'loopback' },
    });
  };
  a = await start();
  b = await start();
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  for (const client of clients) client.disconnect();
  clients = [];
  await upstream?.close();
  if (redisProcess) await stopRedis(redisProcess);
});

const as = (server: TestServer, path: string, init: Parameters<typeof inboxFetch>[2] = {}) => inboxFetch(server, path, { origin: PUBLIC, ...init });

describe('the inbox on several instances sharing Redis', () => {
  it('keeps a session signed in on one instance open on the other, and a sign-out ends it on both', async () => {
    const signIn = await as(a, '/api/inbox/session', { method: 'POST', body: { user: 'alice', password: PASSWORD }, headers: { 'X-Forwarded-For': '192.0.2.1' } });
    expect(signIn.status).toBe(200);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;

    const { events } = await readEvents(await postChat(a.url, { message: 'Asked on instance A', page: 'https://shop.example/cart' }));
    const start = events[0]?.event;
    if (start?.type !== 'message-start') throw new Error('no message-start');

    expect(await (await as(b, '/api/inbox/session', { cookie })).json()).toMatchObject({ user: 'alice' });
    const listed = await (await as(b, '/api/inbox/conversations?q=instance', { cookie })).json();
    expect(listed.conversations).toEqual([expect.objectContaining({ id: start.conversationId, page: 'https://shop.example/cart', firstQuestion: 'Asked on instance A' })]);

    expect((await as(b, '/api/inbox/session', { method: 'DELETE', cookie })).status).toBe(204);
    expect((await as(a, '/api/inbox/session', { cookie })).status).toBe(401);
  });

  it('counts failed sign-ins across instances: the 11th within a minute is refused wherever it lands', async () => {
    const from = { 'X-Forwarded-For': '198.51.100.77' };
    for (let i = 0; i < 10; i++) {
      const server = i % 2 === 0 ? a : b;
      const response = await as(server, '/api/inbox/session', { method: 'POST', body: { user: 'alice', password: 'a wrong password' }, headers: from });
      expect(response.status).toBe(401);
    }
    for (const server of [a, b]) {
      const response = await as(server, '/api/inbox/session', { method: 'POST', body: { user: 'alice', password: PASSWORD }, headers: from });
      expect(response.status).toBe(429);
    }
  });

  it('counts one address\'s failures across instances and across its IPv6 /64, whatever names it tries', async () => {
    for (let i = 0; i < 10; i++) {
      const headers = { 'X-Forwarded-For': `2001:db8:77:1::${(i + 1).toString(16)}` };
      const response = await as(i % 2 === 0 ? a : b, '/api/inbox/session', { method: 'POST', body: { user: `guess${i}`, password: 'a wrong password' }, headers });
      expect(response.status).toBe(401);
    }
    // Another address of the same /64, the right password, either instance: refused.
    for (const server of [a, b]) {
      const response = await as(server, '/api/inbox/session', { method: 'POST', body: { user: 'alice', password: PASSWORD }, headers: { 'X-Forwarded-For': '2001:db8:77:1:ffff:ffff:ffff:fffe' } });
      expect(response.status).toBe(429);
    }
  });

  it('counts one name\'s failures across instances, from addresses all over', async () => {
    for (let i = 0; i < 10; i++) {
      const headers = { 'X-Forwarded-For': `203.0.113.${i + 1}` };
      const response = await as(i % 2 === 0 ? a : b, '/api/inbox/session', { method: 'POST', body: { user: 'mallory-target', password: 'a wrong password' }, headers });
      expect(response.status).toBe(401);
    }
    for (const server of [a, b]) {
      const response = await as(server, '/api/inbox/session', { method: 'POST', body: { user: 'mallory-target', password: 'x' }, headers: { 'X-Forwarded-For': '203.0.113.200' } });
      expect(response.status).toBe(429);
    }
  });
});
