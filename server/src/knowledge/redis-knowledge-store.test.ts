import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { knowledgeStoreSuite, page } from './knowledge-store.suite.js';
import { RedisKnowledgeStore } from './redis-knowledge-store.js';
import { terms } from './tokenize.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

let server: ChildProcess;
let redis: Redis;
beforeAll(async () => {
  const port = await freePort();
  server = await startRedis(port);
  redis = await connectTestClient(`redis://127.0.0.1:${port}`);
});
afterAll(async () => {
  redis?.disconnect();
  if (server) await stopRedis(server);
});

knowledgeStoreSuite('Redis', async () => {
  const keyPrefix = `test:${randomUUID()}:`;
  return {
    store: new RedisKnowledgeStore({ redis, keyPrefix }),
    other: async () => new RedisKnowledgeStore({ redis, keyPrefix }),
    close: async () => {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    },
  };
});

const record = { startedAt: 'a', endedAt: 'b', sourcesKey: 'k', fetched: 1, unchanged: 0, removed: 0, failures: {} };

it('serves every instance the same published version, and drops the old snapshot a few minutes later', async () => {
  const keyPrefix = `test:${randomUUID()}:`;
  const writer = new RedisKnowledgeStore({ redis, keyPrefix, checkEveryMs: 0 });
  const reader = new RedisKnowledgeStore({ redis, keyPrefix, checkEveryMs: 0 });
  await writer.commit({ fetched: [page('https://h.example/a', 'Plans', { Pro: 'Pro costs twenty dollars per member.' })], keep: [], record });
  expect((await reader.search(terms('pro'), 3)).passages[0]?.text).toContain('twenty dollars');
  await writer.commit({ fetched: [page('https://h.example/a', 'Plans', { Pro: 'Pro costs thirty dollars per member now.' })], keep: [], record });
  expect((await reader.search(terms('pro'), 3)).passages[0]?.text).toContain('thirty dollars');
  expect(await redis.get(`${keyPrefix}knowledge:version`)).toBe('2');
  const oldTtl = await redis.pttl(`${keyPrefix}knowledge:pages:1`);
  expect(oldTtl).toBeGreaterThan(0);
  expect(await redis.pttl(`${keyPrefix}knowledge:pages:2`)).toBe(-1);
});
