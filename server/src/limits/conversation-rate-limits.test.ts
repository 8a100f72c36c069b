import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../store/redis-store.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { ACTIONS_PER_MINUTE } from './conversation-rate-limits.js';

/**
 * The conversation routes that start no reply (reading, deleting, rating, Stop) are limited per
 * visitor like chat is: the real app behind a proxy (TRUST_PROXY=1, the test saying which client
 * it is with X-Forwarded-For), in memory on one instance and through a real redis-server across two.
 */
requireRedisServer();

const READS = 5;
const env = { TRUST_PROXY: '1', CHATDROP_READ_RATE_LIMIT: String(READS), CHATDROP_RATE_LIMIT: '1000' };
const from = (ip: string): Record<string, string> => ({ 'X-Forwarded-For': ip });

let upstream: MockUpstream;
let server: TestServer;
let conversationId: string;
let messageId: string;

beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({ upstream, env });
  ({ conversationId, messageId } = await oneTurn(server, '192.0.2.250'));
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});

async function oneTurn(target: TestServer, ip: string): Promise<{ conversationId: string; messageId: string }> {
  const { events } = await readEvents(await postChat(target.url, { message: 'When do you open?' }, { headers: from(ip) }));
  const start = events[0]!.event;
  if (start.type !== 'message-start') throw new Error('no message-start');
  return start;
}

/** The contract's 429: its error body, `Retry-After` in seconds, and the standard RateLimit headers. */
function expectLimited(response: request.Response): void {
  expect(response.status).toBe(429);
  expect(response.body).toEqual({ error: { code: 'rate-limited', message: expect.any(String) } });
  expect(response.body.error.message).not.toMatch(/\d/);
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers.ratelimit).toMatch(/r=0/);
}

describe('GET /api/conversations/:id per visitor', () => {
  it('answers CHATDROP_READ_RATE_LIMIT reads a minute, then 429 rate-limited with Retry-After, and other visitors still read', async () => {
    const ip = '198.51.100.1';
    for (let i = 0; i < READS; i++) {
      const response = await request(server.url).get(`/api/conversations/${conversationId}`).set(from(ip));
      expect(response.status).toBe(200);
      expect(response.body.id).toBe(conversationId);
    }
    expectLimited(await request(server.url).get(`/api/conversations/${conversationId}`).set(from(ip)));
    // An unknown id counts too (it reaches the store as well), and gets no 404 once limited.
    expectLimited(await request(server.url).get('/api/conversations/AAAAAAAAAAAAAAAAAAAAAAAA').set(from(ip)));

    expect((await request(server.url).get(`/api/conversations/${conversationId}`).set(from('198.51.100.2'))).status).toBe(200);
    // Its own counter: the limited visitor may still rate a reply and chat.
    expect((await request(server.url).post('/api/feedback').set(from(ip)).send({ conversationId, messageId, rating: 'up' })).status).toBe(204);
    const chat = await postChat(server.url, { message: 'Still there?', conversationId }, { headers: from(ip) });
    expect(chat.status).toBe(200);
    await readEvents(chat);
  });

  it('counts every address of one IPv6 /64 as one visitor', async () => {
    const network = ['2001:db8:4:7::1', '2001:db8:4:7:ffff:ffff:ffff:fffe', '2001:db8:4:7:1234::9', '2001:db8:4:7::2', '2001:db8:4:7:8::8'];
    for (const ip of network) {
      expect((await request(server.url).get(`/api/conversations/${conversationId}`).set(from(ip))).status).toBe(200);
    }
    expectLimited(await request(server.url).get(`/api/conversations/${conversationId}`).set(from('2001:db8:4:7:abcd::1')));
    // Another subscriber's network (outside the /56) is someone else.
    expect((await request(server.url).get(`/api/conversations/${conversationId}`).set(from('2001:db8:5:7::1'))).status).toBe(200);
  });
});

describe('feedback, deletes and Stop per visitor', () => {
  it(`share one counter of ${ACTIONS_PER_MINUTE} a minute, then each answers 429 rate-limited before any work`, async () => {
    const ip = '203.0.113.9';
    // The visitor's own conversation, to delete at the end if the limit let it.
    const own = await oneTurn(server, ip);
    for (let i = 0; i < ACTIONS_PER_MINUTE; i++) {
      const response =
        i % 3 === 0
          ? await request(server.url).post('/api/feedback').set(from(ip)).send({ conversationId, messageId, rating: i % 2 === 0 ? 'up' : 'down' })
          : i % 3 === 1
            ? await request(server.url).post(`/api/chat/${messageId}/stop`).set(from(ip))
            : await request(server.url).delete('/api/conversations/AAAAAAAAAAAAAAAAAAAAAAAA').set(from(ip));
      expect(response.status).toBe(i % 3 === 2 ? 404 : 204);
    }
    // The last rating that went through was "down" (i = 57).
    expectLimited(await request(server.url).post('/api/feedback').set(from(ip)).send({ conversationId, messageId, rating: 'up' }));
    expectLimited(await request(server.url).post(`/api/chat/${messageId}/stop`).set(from(ip)));
    expectLimited(await request(server.url).delete(`/api/conversations/${own.conversationId}`).set(from(ip)));
    // Limited before the store was touched: the conversation is still there, the rating unchanged.
    expect((await request(server.url).get(`/api/conversations/${own.conversationId}`).set(from(ip))).status).toBe(200);
    expect(await server.store.getFeedback(conversationId, messageId)).toBe('down');
    // Someone else's clicks are theirs.
    expect((await request(server.url).post('/api/feedback').set(from('203.0.113.10')).send({ conversationId, messageId, rating: 'up' })).status).toBe(204);
  });
});

describe('what stays unlimited', () => {
  it('serves the widget, /healthz, /readyz and /api/config to a visitor who is over every limit', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i <= READS; i++) await request(server.url).get(`/api/conversations/${conversationId}`).set(from(ip));
    for (let i = 0; i <= ACTIONS_PER_MINUTE; i++) await request(server.url).post(`/api/chat/${messageId}/stop`).set(from(ip));
    expectLimited(await request(server.url).get(`/api/conversations/${conversationId}`).set(from(ip)));
    expectLimited(await request(server.url).post(`/api/chat/${messageId}/stop`).set(from(ip)));
    for (let i = 0; i < 3; i++) {
      for (const path of ['/widget.js', '/healthz', '/readyz', '/api/config', '/api/models']) {
        const response = await request(server.url).get(path).set(from(ip));
        expect([path, response.status]).toEqual([path, 200]);
        expect(response.headers.ratelimit).toBeUndefined();
      }
    }
  });
});

describe('two instances on one Redis', () => {
  let redisServer: ChildProcess;
  let redisUrl: string;
  const clients: Redis[] = [];
  const instances: TestServer[] = [];

  beforeAll(async () => {
    const port = await freePort();
    redisServer = await startRedis(port);
    redisUrl = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 2; i++) {
      // Wired as main.ts wires REDIS_URL: the conversations and the instance's connection (AppOptions.redis).
      const redis = await connectTestClient(redisUrl);
      clients.push(redis);
      const store = await RedisStore.open({ url: redisUrl, keyPrefix: 'limits-test:' });
      instances.push(await startTestServer({ upstream, env, store, inbox: { redis } }));
    }
  }, 30_000);
  afterAll(async () => {
    for (const instance of instances) await instance.close();
    for (const client of clients) client.disconnect();
    if (redisServer !== undefined) await stopRedis(redisServer);
  }, 30_000);

  it('count one visitor\'s reads and actions together, whichever instance each request lands on', async () => {
    const [a, b] = instances as [TestServer, TestServer];
    const turn = await oneTurn(a, '192.0.2.1');
    const ip = '2001:db8:9:9::1';
    for (let i = 0; i < READS; i++) {
      const on = i % 2 === 0 ? a : b;
      expect((await request(on.url).get(`/api/conversations/${turn.conversationId}`).set(from(ip))).status).toBe(200);
    }
    // The next read, on either instance and from another address of the same /64, is one too many.
    expectLimited(await request(a.url).get(`/api/conversations/${turn.conversationId}`).set(from('2001:db8:9:9::2')));
    expectLimited(await request(b.url).get(`/api/conversations/${turn.conversationId}`).set(from('2001:db8:9:9:ffff::3')));

    for (let i = 0; i < ACTIONS_PER_MINUTE; i++) {
      const on = i % 2 === 0 ? a : b;
      expect((await request(on.url).post(`/api/chat/${turn.messageId}/stop`).set(from(ip))).status).toBe(204);
    }
    expectLimited(await request(b.url).post('/api/feedback').set(from(ip)).send({ ...turn, rating: 'up' }));
    expectLimited(await request(a.url).delete(`/api/conversations/${turn.conversationId}`).set(from(ip)));
    expect((await request(b.url).get(`/api/conversations/${turn.conversationId}`).set(from('192.0.2.1'))).status).toBe(200);

    // The counts live in Redis under chatdrop:, and expire with their window.
    const keys = await clients[0]!.keys('chatdrop:*-rate:*');
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      const ttl = await clients[0]!.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });
});
