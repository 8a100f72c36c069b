import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiErrorBody } from '@chatdrop/shared';
import { createRateLimitStore } from '../limits/rate-limit-store.js';
import { RedisConcurrencyLimiter } from '../limits/redis-concurrency-limiter.js';
import { RedisTokenBudget } from '../limits/redis-token-budget.js';
import { RedisStore } from '../store/redis-store.js';
import { freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf } from '../test/read-sse.js';

/**
 * The app wired the way main.ts wires it with `REDIS_URL` (store, stream slots, budget and rate
 * limit on one real redis-server). Redis going away is not the visitor's fault: the chat answers
 * the contract's 503 `upstream-unavailable` with Retry-After, never a 500, and works again by
 * itself when Redis is back.
 */
let port: number;
let redisServer: ChildProcess;
let redis: Redis;
let store: RedisStore;
let limiter: RedisConcurrencyLimiter;
let upstream: MockUpstream;
let server: TestServer;

beforeAll(async () => {
  requireRedisServer();
  port = await freePort();
  redisServer = await startRedis(port);
  const url = `redis://127.0.0.1:${port}`;
  store = await RedisStore.open({ url, keyPrefix: 'outage-test:' });
  redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 50, 500) });
  redis.on('error', () => {});
  await redis.connect();
  limiter = new RedisConcurrencyLimiter({ redis, keyPrefix: 'outage-test:' });
  upstream = await startMockUpstream();
  server = await startTestServer({
    upstream,
    env: { CHATDROP_DAILY_TOKEN_BUDGET: '1000000' },
    store,
    shared: {
      limiter,
      budget: new RedisTokenBudget({ redis, keyPrefix: 'outage-test:' }),
      rateLimitStore: createRateLimitStore(redis, 'outage-test:rate:'),
    },
  });
}, 30_000);
afterAll(async () => {
  await server?.close(); // closes the store too
  await limiter?.close();
  redis?.disconnect();
  await upstream?.close();
  if (redisServer !== undefined) await stopRedis(redisServer);
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('condition not met within 10 s');
}

describe('Redis going away while the server runs', () => {
  it('answers 503 upstream-unavailable with Retry-After while Redis is down, and recovers by itself', async () => {
    upstream.script({ kind: 'deltas', deltas: ['Up ', 'and running.'] });
    expect(textOf((await readEvents(await postChat(server.url, { message: 'Before' }))).events)).toBe('Up and running.');

    await stopRedis(redisServer);
    const before = upstream.requests.length;
    const down = await postChat(server.url, { message: 'During' });
    expect(down.status).toBe(503);
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
    const body: unknown = await down.json();
    expect(isApiErrorBody(body)).toBe(true);
    expect(body).toMatchObject({ error: { code: 'upstream-unavailable' } });
    expect(upstream.requests.length).toBe(before);
    expect(server.logs.some((line) => line.includes('"level":50') && line.includes('store unavailable'))).toBe(true);
    // The rate limiter's own complaint is a JSON log line too, not a stack on stderr.
    expect(server.logs.some((line) => line.includes('"level":40') && line.includes('express-rate-limit: error from store'))).toBe(true);
    expect(server.logs.some((line) => line.includes('unhandled error'))).toBe(false);

    redisServer = await startRedis(port);
    await waitFor(async () => (await postChat(server.url, { message: 'After' }).then(async (r) => {
      if (r.status === 200) await readEvents(r);
      return r.status === 200;
    })));
  }, 30_000);
});
