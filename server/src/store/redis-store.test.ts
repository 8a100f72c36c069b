import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { conversationStoreSuite } from './conversation-store.suite.js';
import { RedisStore } from './redis-store.js';
import { StoreUnavailableError } from './store-unavailable-error.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

let port: number;
let server: ChildProcess;
let url: string;
let admin: Redis;

beforeAll(async () => {
  port = await freePort();
  server = await startRedis(port);
  url = `redis://127.0.0.1:${port}`;
  admin = new Redis(url);
});

afterAll(async () => {
  await admin?.quit().catch(() => admin.disconnect());
  if (server) await stopRedis(server);
});

async function deleteKeys(prefix: string): Promise<void> {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
}

conversationStoreSuite('RedisStore on a real redis-server', async ({ now }) => {
  const keyPrefix = `test:${randomUUID()}:`;
  return {
    store: await RedisStore.open({ url, now, keyPrefix }),
    reopen: () => RedisStore.open({ url, now, keyPrefix }),
    cleanup: () => deleteKeys(keyPrefix),
  };
});

describe('RedisStore', () => {
  it('keeps every key of a conversation for the retention, refreshed by each write', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const retentionMs = 60 * 60 * 1000;
    const store = await RedisStore.open({ url, keyPrefix, retentionMs });
    try {
      const id = await store.createConversation();
      const reply = await store.appendMessage(id, { role: 'assistant', content: 'hi', status: 'complete' });
      await store.setFeedback(id, reply!.id, 'up');
      const keys = (await admin.keys(`${keyPrefix}conversation:${id}*`)).sort();
      expect(keys).toHaveLength(4);

      // Shorten the TTLs by hand, as if an hour had nearly passed; a write must bring them back.
      for (const key of keys) await admin.pexpire(key, 1_000);
      await store.updateMessage(id, reply!.id, { content: 'hi again', status: 'complete' });
      for (const key of keys) {
        const ttl = await admin.pttl(key);
        expect(ttl).toBeGreaterThan(retentionMs - 60_000);
        expect(ttl).toBeLessThanOrEqual(retentionMs);
      }
    } finally {
      await store.close();
      await deleteKeys(keyPrefix);
    }
  });

  it('forgets a conversation once its keys expire, and the sweep drops what is left of it', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await RedisStore.open({ url, keyPrefix, retentionMs: 60_000 });
    try {
      const id = await store.createConversation();
      await store.appendMessage(id, { role: 'user', content: 'bye', status: 'complete' });
      for (const key of await admin.keys(`${keyPrefix}conversation:${id}*`)) await admin.pexpire(key, 1);
      await expect.poll(() => admin.exists(`${keyPrefix}conversation:${id}`)).toBe(0);
      expect(await store.getConversation(id)).toBeUndefined();
      // Already expired, so not counted; its entry in the activity index is gone afterwards.
      expect(await store.deleteIdleSince(Date.now() + 1_000)).toBe(0);
      expect(await admin.zcard(`${keyPrefix}conversations-by-activity`)).toBe(0);
    } finally {
      await store.close();
      await deleteKeys(keyPrefix);
    }
  });

  it('fails to open with a clear error when Redis is unreachable', async () => {
    const nobody = await freePort();
    const opening = RedisStore.open({ url: `redis://127.0.0.1:${nobody}` });
    await expect(opening).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(opening).rejects.toThrow(`Cannot reach Redis at 127.0.0.1:${nobody}: connect ECONNREFUSED`);
  });

  it('does not put the password of REDIS_URL in its error', async () => {
    const nobody = await freePort();
    const opening = RedisStore.open({ url: `redis://user:s3cret-pass@127.0.0.1:${nobody}` });
    await expect(opening).rejects.toThrow(StoreUnavailableError);
    await opening.catch((error: Error) => expect(error.message).not.toContain('s3cret-pass'));
  });

  it('fails calls at once while Redis is down and recovers by itself when it returns', async () => {
    const ownPort = await freePort();
    let own = await startRedis(ownPort);
    const store = await RedisStore.open({ url: `redis://127.0.0.1:${ownPort}` });
    try {
      expect(await store.createConversation()).toMatch(/^[A-Za-z0-9_-]{24}$/);
      await stopRedis(own);

      const started = Date.now();
      await expect(store.createConversation()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.getConversation('AAAAAAAAAAAAAAAAAAAAAAAA')).rejects.toBeInstanceOf(StoreUnavailableError);
      // Generous bound: "at once" means no waiting for Redis to come back.
      expect(Date.now() - started).toBeLessThan(3_000);

      own = await startRedis(ownPort);
      // The client reconnects on its own (backoff up to 2 s); the same store works again.
      await expect
        .poll(() => store.createConversation().then(() => 'ok', () => 'down'), { timeout: 10_000, interval: 200 })
        .toBe('ok');
      const id = await store.createConversation();
      await store.appendMessage(id, { role: 'user', content: 'back', status: 'complete' });
      expect((await store.getConversation(id))?.messages.map((m) => m.content)).toEqual(['back']);
    } finally {
      await store.close();
      await stopRedis(own);
    }
  });

  it('connects on first use when built with new and not opened', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const store = new RedisStore({ url, keyPrefix });
    try {
      const [a, b] = await Promise.all([store.createConversation(), store.createConversation()]);
      expect(await store.getConversation(a)).toEqual({ id: a, messages: [] });
      expect(await store.getConversation(b)).toEqual({ id: b, messages: [] });
    } finally {
      await store.close();
      await deleteKeys(keyPrefix);
    }
  });

  it('brings conversations stored before the inbox into its creation index, once', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    let now = Date.UTC(2030, 0, 1);
    const store = await RedisStore.open({ url, keyPrefix, now: () => now });
    try {
      const older = await store.createConversation();
      now += 1_000;
      const newer = await store.createConversation();
      // As a server before the inbox left them: no creation index, no marker.
      await admin.del(`${keyPrefix}conversations-by-created`, `${keyPrefix}conversations-by-created:complete`);
      const reopened = await RedisStore.open({ url, keyPrefix, now: () => now });
      try {
        expect((await reopened.listConversations({ limit: 10 })).conversations.map((c) => c.id)).toEqual([newer, older]);
        expect(await admin.exists(`${keyPrefix}conversations-by-created:complete`)).toBe(1);
        expect(await admin.zscore(`${keyPrefix}conversations-by-created`, older)).toBe(String(Date.UTC(2030, 0, 1)));
      } finally {
        await reopened.close();
      }
    } finally {
      await store.close();
      await deleteKeys(keyPrefix);
    }
  });
});
