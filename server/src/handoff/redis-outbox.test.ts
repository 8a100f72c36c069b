import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { handoffOutboxSuite } from './handoff-outbox.suite.js';
import { RedisOutbox } from './redis-outbox.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

const DAY = 24 * 60 * 60 * 1000;
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

async function client(): Promise<Redis> {
  const redis = await connectTestClient(url);
  clients.push(redis);
  return redis;
}

handoffOutboxSuite('RedisOutbox on a real redis-server', async () => {
  const keyPrefix = `test:${randomUUID()}:`;
  const admin = await client();
  return {
    outbox: new RedisOutbox({ redis: admin, retentionMs: 30 * DAY, keyPrefix }),
    // Its own connection, as another instance has.
    another: async () => new RedisOutbox({ redis: await client(), retentionMs: 30 * DAY, keyPrefix }),
    cleanup: async () => {
      const keys = await admin.keys(`${keyPrefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    },
  };
});

describe('RedisOutbox', () => {
  it('keeps a hand-off and its conversation index for the retention, and no key without a TTL but the shared indexes', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const redis = await client();
    const outbox = new RedisOutbox({ redis, retentionMs: DAY, keyPrefix });
    await outbox.add(
      { conversationId: 'c1', email: 'a@example.com', note: null, page: null, transcript: [], channels: ['webhook'] },
      { now: Date.now(), duplicateWindowMs: 1, perConversation: 1, windowMs: 1 },
    );
    const keys = (await redis.keys(`${keyPrefix}*`)).map((k) => k.slice(keyPrefix.length)).sort();
    expect(keys).toEqual(['handoff-due:webhook', `handoff-prints:c1`, `handoff:${keys.find((k) => k.startsWith('handoff:'))!.slice(8)}`, 'handoffs-by-time', 'handoffs-of:c1'].sort());
    for (const key of keys) {
      const ttl = await redis.pttl(keyPrefix + key);
      if (key.startsWith('handoff-due:') || key === 'handoffs-by-time') expect(ttl).toBe(-1);
      else expect(ttl).toBeGreaterThan(DAY - 60_000);
    }
  });

  it('fails with StoreUnavailableError while Redis is away', async () => {
    const port = await freePort();
    const lonely = await startRedis(port);
    const redis = await connectTestClient(`redis://127.0.0.1:${port}`);
    clients.push(redis);
    const outbox = new RedisOutbox({ redis, retentionMs: DAY });
    await stopRedis(lonely);
    await expect(outbox.claim('webhook', Date.now(), 1000, 1)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(
      outbox.add({ conversationId: 'c', email: 'a@example.com', note: null, page: null, transcript: [], channels: ['webhook'] }, { now: 1, duplicateWindowMs: 1, perConversation: 1, windowMs: 1 }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
