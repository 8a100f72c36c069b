import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../../test/redis-server.js';
import { StoreUnavailableError } from '../../store/store-unavailable-error.js';
import { RedisStreamBuffer } from './redis-stream-buffer.js';
import type { BufferedEvent } from './stream-buffer.js';
import { collect, replyEvents, streamBufferSuite } from './stream-buffer.suite.js';

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

async function connectedClients(redis: Redis): Promise<number> {
  return Number(/connected_clients:(\d+)/.exec(await redis.info('clients'))?.[1]);
}

async function client(redisUrl = url): Promise<Redis> {
  const redis = await connectTestClient(redisUrl);
  clients.push(redis);
  return redis;
}

streamBufferSuite('RedisStreamBuffer on a real redis-server', async ({ endTtlMs }) => {
  const redis = await client();
  return { buffer: new RedisStreamBuffer({ redis, keyPrefix: `test:${randomUUID()}:`, endTtlMs, blockMs: 100 }) };
});

describe('RedisStreamBuffer', () => {
  it('lets a reader on instance B replay and follow a stream written on instance A', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const a = new RedisStreamBuffer({ redis: await client(), keyPrefix });
    const b = new RedisStreamBuffer({ redis: await client(), keyPrefix });
    const events = replyEvents(['cut ', 'here ', 'and ', 'resumed']);
    // A writes the first events; the browser saw up to id 2 before its connection dropped.
    // Sent one after another without waiting for each (the per-token path), then all confirmed.
    await Promise.all(events.slice(0, 4).map((event, index) => a.append('m', index + 1, event)));
    expect(await b.has('m')).toBe(true);

    const seen: BufferedEvent[] = [];
    const reading = (async () => {
      for await (const item of b.read('m', 2, new AbortController().signal)) seen.push(item);
    })();
    await expect.poll(() => seen.length).toBe(2);
    for (const [index, event] of events.entries()) if (index >= 4) await a.append('m', index + 1, event);
    await a.end('m');
    await reading;
    expect(seen.map((item) => item.id)).toEqual([3, 4, 5, 6]);
    expect(seen.map((item) => item.event)).toEqual(events.slice(2));
    await Promise.all([a.close(), b.close()]);
  });

  it('follows any number of live streams for any number of readers on one Redis connection', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const writer = new RedisStreamBuffer({ redis: await client(), keyPrefix });
    const reader = new RedisStreamBuffer({ redis: await client(), keyPrefix, blockMs: 100 });
    const observer = await client();
    const streams = Array.from({ length: 10 }, (_, i) => `live-${i}`);
    const events = replyEvents(['a', 'b', 'c']);
    for (const stream of streams) await writer.append(stream, 1, events[0]!);
    // One reader first, so the follower's connection exists; then the count must not move.
    const first = collect(reader, streams[0]!, 0);
    await expect.poll(() => reader.following).toBe(1);
    const base = await connectedClients(observer);
    const readers = [first];
    for (let i = 0; i < 100; i++) readers.push(collect(reader, streams[i % streams.length]!, i % 2));
    await expect.poll(() => reader.following, { timeout: 10_000 }).toBe(streams.length);
    expect(await connectedClients(observer)).toBe(base);
    for (const stream of streams) {
      for (const [index, event] of events.entries()) if (index > 0) await writer.append(stream, index + 1, event);
    }
    const seen = await Promise.all(readers);
    for (const [i, items] of seen.entries()) {
      const from = i === 0 ? 0 : (i - 1) % 2;
      expect(items.map((item) => item.id)).toEqual([1, 2, 3, 4, 5].filter((id) => id > from));
    }
    expect(reader.following).toBe(0);
    expect(await connectedClients(observer)).toBe(base);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('gives readers on two instances, joining while the stream runs, every event once and in order', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const writer = new RedisStreamBuffer({ redis: await client(), keyPrefix });
    const instances = [
      new RedisStreamBuffer({ redis: await client(), keyPrefix, blockMs: 100 }),
      new RedisStreamBuffer({ redis: await client(), keyPrefix, blockMs: 100 }),
    ];
    const deltas = Array.from({ length: 300 }, (_, i) => `d${i} `);
    const events = replyEvents(deltas);
    const readers: { from: number; seen: Promise<BufferedEvent[]> }[] = [];
    let written = 0;
    // Appends in bursts, readers joining between them at every position up to the last written,
    // so joins land before, behind and level with what the followers have already handed out.
    while (written < events.length) {
      const burst = events.slice(written, written + 7);
      await Promise.all(burst.map((event, index) => writer.append('m', written + index + 1, event)));
      written += burst.length;
      const from = (written * 13) % (written + 1);
      readers.push({ from, seen: collect(instances[readers.length % 2]!, 'm', from) });
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writer.end('m');
    for (const { from, seen } of readers) {
      const items = await seen;
      expect(items.map((item) => item.id), `from ${from}`).toEqual(Array.from({ length: events.length - from }, (_, i) => from + i + 1));
      expect(items.map((item) => item.event)).toEqual(events.slice(from));
    }
    await Promise.all([writer.close(), ...instances.map((instance) => instance.close())]);
  });

  it('stores one stream as one key that expires even when its writer dies before ending it', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const redis = await client();
    const buffer = new RedisStreamBuffer({ redis, keyPrefix, runningTtlMs: 60_000 });
    await buffer.append('m', 1, replyEvents([])[0]!);
    expect(await redis.keys(`${keyPrefix}*`)).toEqual([`${keyPrefix}stream:m`]);
    const ttl = await redis.pttl(`${keyPrefix}stream:m`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await buffer.end('m');
    expect(await redis.pttl(`${keyPrefix}stream:m`)).toBeLessThanOrEqual(60_000);
    await buffer.close();
  });

  it('stops a follower whose stream expires under it (a crashed writer)', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const redis = await client();
    const buffer = new RedisStreamBuffer({ redis, keyPrefix, runningTtlMs: 300, blockMs: 100 });
    await buffer.append('m', 1, replyEvents([])[0]!);
    expect((await collect(buffer, 'm', 0)).map((item) => item.id)).toEqual([1]);
    expect(await buffer.has('m')).toBe(false);
    await buffer.close();
  });

  it('fails with StoreUnavailableError while Redis is down and works again when it returns', async () => {
    const port = await freePort();
    let own = await startRedis(port);
    const redis = await client(`redis://127.0.0.1:${port}`);
    const buffer = new RedisStreamBuffer({ redis, keyPrefix: 'down:' });
    try {
      await buffer.append('m', 1, replyEvents([])[0]!);
      await stopRedis(own);
      await expect(buffer.append('m', 2, { type: 'text-delta', delta: 'lost' })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(buffer.has('m')).rejects.toBeInstanceOf(StoreUnavailableError);
      own = await startRedis(port);
      await expect.poll(() => buffer.has('m').then(String, () => 'down'), { timeout: 10_000, interval: 100 }).toBe('false');
    } finally {
      await buffer.close();
      await stopRedis(own);
    }
  });
});
