import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../store/store-unavailable-error.js';
import { freePort, requireRedisServer, startRedis, stopRedis } from '../../test/redis-server.js';
import { RedisReplyBus } from './redis-reply-bus.js';
import { replyBusSuite } from './reply-bus.suite.js';

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

/** A client as main.ts would make one: fail fast while Redis is away, reconnect by itself. */
function client(redisUrl = url): Redis {
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  redis.on('error', () => {});
  clients.push(redis);
  return redis;
}

async function ready(redis: Redis): Promise<Redis> {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

replyBusSuite('RedisReplyBus: two instances on one real redis-server', async () => {
  const keyPrefix = `test:${randomUUID()}:`;
  return {
    running: await RedisReplyBus.open({ redis: await ready(client()), keyPrefix }),
    stopping: await RedisReplyBus.open({ redis: await ready(client()), keyPrefix }),
  };
});

describe('RedisReplyBus', () => {
  it('keeps sites that share one Redis apart', async () => {
    const redis = await ready(client());
    const siteA = await RedisReplyBus.open({ redis, keyPrefix: 'site-a:' });
    const siteB = await RedisReplyBus.open({ redis, keyPrefix: 'site-b:' });
    const witness = await RedisReplyBus.open({ redis, keyPrefix: 'site-b:' });
    const stopped: string[] = [];
    siteA.onStop('m', () => stopped.push('site a'));
    witness.onStop('m', () => stopped.push('site b'));
    await siteB.requestStop('m');
    await expect.poll(() => stopped).toEqual(['site b']);
    await Promise.all([siteA.close(), siteB.close(), witness.close()]);
  });

  it('fails to open with a clear error when Redis is unreachable', async () => {
    const redis = client(`redis://127.0.0.1:${await freePort()}`);
    await expect(RedisReplyBus.open({ redis })).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('delivers stops again after Redis restarts, without reopening the bus', async () => {
    const port = await freePort();
    let own = await startRedis(port);
    const running = await RedisReplyBus.open({ redis: await ready(client(`redis://127.0.0.1:${port}`)) });
    const stopping = await RedisReplyBus.open({ redis: await ready(client(`redis://127.0.0.1:${port}`)) });
    try {
      let stops = 0;
      running.onStop('m', () => stops++);
      await stopRedis(own);
      await expect(stopping.requestStop('m')).rejects.toBeInstanceOf(StoreUnavailableError);
      own = await startRedis(port);
      // Publishing works once the sender is back; delivery once the subscriber has resubscribed.
      await expect
        .poll(async () => {
          await stopping.requestStop('m').catch(() => {});
          return stops;
        }, { timeout: 10_000, interval: 200 })
        .toBeGreaterThan(0);
    } finally {
      await Promise.all([running.close(), stopping.close()]);
      await stopRedis(own);
    }
  });
});
