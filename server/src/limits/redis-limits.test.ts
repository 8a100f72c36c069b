import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { concurrencyLimiterSuite } from './concurrency-limiter.suite.js';
import { createRateLimitStore } from './rate-limit-store.js';
import { RedisConcurrencyLimiter } from './redis-concurrency-limiter.js';
import { RedisTokenBudget } from './redis-token-budget.js';
import { tokenBudgetSuite } from './token-budget.suite.js';

requireRedisServer();

let server: ChildProcess;
let url: string;
const clients: Redis[] = [];

beforeAll(async () => {
  const port = await freePort();
  server = await startRedis(port);
  url = `redis://127.0.0.1:${port}`;
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  if (server) await stopRedis(server);
});

async function client(redisUrl = url): Promise<Redis> {
  const redis = await connectTestClient(redisUrl);
  clients.push(redis);
  return redis;
}

concurrencyLimiterSuite('RedisConcurrencyLimiter: two instances on one real redis-server', async () => {
  const keyPrefix = `test:${randomUUID()}:`;
  return {
    a: new RedisConcurrencyLimiter({ redis: await client(), keyPrefix }),
    b: new RedisConcurrencyLimiter({ redis: await client(), keyPrefix }),
  };
});

tokenBudgetSuite('RedisTokenBudget: two instances on one real redis-server', async (now) => {
  const keyPrefix = `test:${randomUUID()}:`;
  return {
    a: new RedisTokenBudget({ redis: await client(), keyPrefix, now }),
    b: new RedisTokenBudget({ redis: await client(), keyPrefix, now }),
  };
});

describe('RedisConcurrencyLimiter', () => {
  it('frees the slots of an instance that died without releasing them, by themselves', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const crashed = new RedisConcurrencyLimiter({ redis: await client(), keyPrefix, leaseMs: 300 });
    const survivor = new RedisConcurrencyLimiter({ redis: await client(), keyPrefix, leaseMs: 300 });
    expect(await crashed.acquire('ip', 1)).toBeTypeOf('function');
    await crashed.close(); // stops renewing, as a dead process would
    expect(await survivor.acquire('ip', 1)).toBeUndefined();
    await expect.poll(async () => (await survivor.acquire('ip', 1)) !== undefined, { timeout: 5_000, interval: 50 }).toBe(true);
    await survivor.close();
  });

  it('keeps a long stream slot held past its lease while its instance renews it', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const running = new RedisConcurrencyLimiter({ redis: await client(), keyPrefix, leaseMs: 300 });
    const other = new RedisConcurrencyLimiter({ redis: await client(), keyPrefix, leaseMs: 300 });
    const release = await running.acquire('ip', 1);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // more than three leases
    expect(await other.acquire('ip', 1)).toBeUndefined();
    await release!();
    expect(await other.acquire('ip', 1)).toBeTypeOf('function');
    await Promise.all([running.close(), other.close()]);
  });

  it('fails with StoreUnavailableError while Redis is down', async () => {
    const port = await freePort();
    const own = await startRedis(port);
    const limiter = new RedisConcurrencyLimiter({ redis: await client(`redis://127.0.0.1:${port}`) });
    await stopRedis(own);
    await expect(limiter.acquire('ip', 1)).rejects.toBeInstanceOf(StoreUnavailableError);
    await limiter.close();
  });
});

describe('RedisTokenBudget', () => {
  it('keeps its counts in keys per UTC day that expire by themselves, and settles a late reply against its own day', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const redis = await client();
    let clock = Date.parse('2026-03-01T23:59:00Z');
    const budget = new RedisTokenBudget({ redis, keyPrefix, now: () => clock });
    const early = await budget.reserve({ inputTokens: 10, outputTokens: 100 }, 1_000);
    await budget.settle(early!, 42);
    const late = await budget.reserve({ inputTokens: 10, outputTokens: 100 }, 1_000);
    expect(await redis.get(`${keyPrefix}budget:2026-03-01:held`)).toBe('110');
    clock = Date.parse('2026-03-02T00:00:10Z');
    await budget.settle(late!, 58);
    expect(await redis.mget(`${keyPrefix}budget:2026-03-01`, `${keyPrefix}budget:2026-03-01:held`)).toEqual(['100', '0']);
    expect(await redis.ttl(`${keyPrefix}budget:2026-03-01`)).toBeGreaterThan(24 * 60 * 60);
    expect(await redis.ttl(`${keyPrefix}budget:2026-03-01:held`)).toBeGreaterThan(24 * 60 * 60);
    expect(await redis.exists(`${keyPrefix}budget:2026-03-02`)).toBe(0);
  });

  it('fails with StoreUnavailableError while Redis is down', async () => {
    const port = await freePort();
    const own = await startRedis(port);
    const budget = new RedisTokenBudget({ redis: await client(`redis://127.0.0.1:${port}`) });
    const held = await budget.reserve({ inputTokens: 1, outputTokens: 1 }, 100);
    await stopRedis(own);
    await expect(budget.reserve({ inputTokens: 1, outputTokens: 1 }, 100)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(budget.settle(held!, 2)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(budget.used()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('createRateLimitStore', () => {
  /** An instance of the app, reduced to its rate limit: its own limiter and store, one Redis. */
  async function instance(prefix: string, name: string): Promise<express.Express> {
    const app = express();
    app.use(rateLimit({ windowMs: 60_000, limit: 3, standardHeaders: 'draft-8', legacyHeaders: false, store: createRateLimitStore(await client(), prefix) }));
    app.get('/', (_req, res) => {
      res.send(name);
    });
    return app;
  }

  it('counts requests to two instances together', async () => {
    const prefix = `test:${randomUUID()}:rl:`;
    const [a, b] = [await instance(prefix, 'a'), await instance(prefix, 'b')];
    expect((await request(a).get('/')).status).toBe(200);
    expect((await request(b).get('/')).status).toBe(200);
    expect((await request(a).get('/')).status).toBe(200);
    const limited = await request(b).get('/');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await request(a).get('/')).status).toBe(429);
  });

  it('keeps two sites on one Redis apart by prefix', async () => {
    const [a, b] = [await instance(`test:${randomUUID()}:`, 'a'), await instance(`test:${randomUUID()}:`, 'b')];
    for (let i = 0; i < 3; i++) expect((await request(a).get('/')).status).toBe(200);
    expect((await request(a).get('/')).status).toBe(429);
    expect((await request(b).get('/')).status).toBe(200);
  });
});
