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
      { conversationId: 'c1', conversationCreatedAt: Date.now() - 60_000, email: 'a@example.com', note: null, page: null, transcript: [], channels: ['webhook'] },
      { now: Date.now(), duplicateWindowMs: 1, perConversation: 1, windowMs: 1 },
    );
    const keys = (await redis.keys(`${keyPrefix}*`)).map((k) => k.slice(keyPrefix.length)).sort();
    expect(keys).toEqual(['handoff-conversations', 'handoff-conversations-latest', 'handoff-due:webhook', `handoff-prints:c1`, `handoff:${keys.find((k) => k.startsWith('handoff:'))!.slice(8)}`, 'handoffs-by-time', 'handoffs-of:c1'].sort());
    for (const key of keys) {
      const ttl = await redis.pttl(keyPrefix + key);
      if (key.startsWith('handoff-due:') || key === 'handoffs-by-time' || key.startsWith('handoff-conversations')) expect(ttl).toBe(-1);
      else expect(ttl).toBeGreaterThan(DAY - 60_000);
    }
  });

  it('adds hand-offs stored before the conversation indexes existed to them, once, by their first message', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const redis = await client();
    const outbox = new RedisOutbox({ redis, retentionMs: DAY, keyPrefix });
    const now = Date.now();
    const said = (at: number) => [{ role: 'user' as const, content: 'help', createdAt: new Date(at).toISOString() }];
    for (const [conversationId, started, at] of [['c1', now - 9_000, now - 2_000], ['c2', now - 5_000, now - 1_000], ['c1', now - 9_000, now]] as const) {
      await outbox.add(
        { conversationId, conversationCreatedAt: started, email: 'a@example.com', note: String(at), page: null, transcript: said(started + 1), channels: ['webhook'] },
        { now: at, duplicateWindowMs: 1, perConversation: 5, windowMs: 1 },
      );
    }
    // As an older server left Redis: hand-offs, but no conversation indexes.
    await redis.del(`${keyPrefix}handoff-conversations`, `${keyPrefix}handoff-conversations-latest`);
    const fresh = new RedisOutbox({ redis, retentionMs: DAY, keyPrefix });
    // The first message's time stands in for when the conversation started.
    expect(await fresh.conversationsWithHandoffs({ limit: 10 })).toEqual([{ id: 'c2', createdAt: now - 4_999 }, { id: 'c1', createdAt: now - 8_999 }]);
    expect(await redis.zscore(`${keyPrefix}handoff-conversations-latest`, 'c1')).toBe(String(now));
    expect(await redis.get(`${keyPrefix}handoff-conversations:complete`)).toBe('1');
    // Once per Redis: another instance does not walk the hand-offs again.
    await redis.zrem(`${keyPrefix}handoff-conversations`, 'c2');
    expect(await new RedisOutbox({ redis, retentionMs: DAY, keyPrefix }).conversationsWithHandoffs({ limit: 10 })).toEqual([{ id: 'c1', createdAt: now - 8_999 }]);
  });

  it('drops a conversation from the indexes once its hand-offs are gone, even when their keys expired before the sweep', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const redis = await client();
    const outbox = new RedisOutbox({ redis, retentionMs: DAY, keyPrefix });
    const old = Date.now() - DAY - 60_000;
    const add = (conversationId: string, at: number) =>
      outbox.add(
        { conversationId, conversationCreatedAt: at - 1_000, email: 'a@example.com', note: null, page: null, transcript: [], channels: ['webhook'] },
        { now: at, duplicateWindowMs: 1, perConversation: 5, windowMs: 1 },
      );
    await add('old', old);
    await add('expired', old + 1);
    await add('new', Date.now());
    // Their keys expire with the retention (TTL), taking the conversation's id with them.
    const gone = async (conversationId: string, at: number) => {
      const [id] = await redis.zrangebyscore(`${keyPrefix}handoffs-by-time`, at, at);
      await redis.del(`${keyPrefix}handoff:${id}`, `${keyPrefix}handoffs-of:${conversationId}`, `${keyPrefix}handoff-prints:${conversationId}`);
    };
    await gone('old', old);
    await gone('expired', old + 1);
    // Before the sweep, the walk leaves out (and drops) what has no hand-off left...
    expect((await outbox.conversationsWithHandoffs({ limit: 10 })).map((c) => c.id)).toEqual(['new']);
    expect(await redis.zrange(`${keyPrefix}handoff-conversations`, '0', '-1')).toEqual(['new']);
    // ...and the sweep trims the other index by each conversation's latest hand-off.
    expect(await redis.zrange(`${keyPrefix}handoff-conversations-latest`, '0', '-1')).toEqual(['new']);
    await add('late', old + 2);
    await gone('late', old + 2);
    expect(await outbox.deleteCreatedBefore(Date.now() - DAY)).toBe(0);
    expect(await redis.zrange(`${keyPrefix}handoff-conversations-latest`, '0', '-1')).toEqual(['new']);
    expect(await redis.zrange(`${keyPrefix}handoff-conversations`, '0', '-1')).toEqual(['new']);
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
      outbox.add({ conversationId: 'c', conversationCreatedAt: 1, email: 'a@example.com', note: null, page: null, transcript: [], channels: ['webhook'] }, { now: 1, duplicateWindowMs: 1, perConversation: 1, windowMs: 1 }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
