import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiErrorBody, type StreamEvent } from '@chatdrop/shared';
import { createRateLimitStore } from '../limits/rate-limit-store.js';
import { RedisConcurrencyLimiter } from '../limits/redis-concurrency-limiter.js';
import { RedisReplyBus } from '../replies/reply-bus/redis-reply-bus.js';
import { RedisStreamBuffer } from '../replies/stream-buffer/redis-stream-buffer.js';
import { RedisStore } from '../store/redis-store.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf, type ReceivedEvent } from '../test/read-sse.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { startTestServer, type TestServer } from '../test/test-server.js';

/**
 * A resumed reader is held to the visitor's limits like any stream, and with Redis every instance
 * follows live streams on one connection, however many readers there are. Two instances wired as
 * main.ts wires them with REDIS_URL, on one real redis-server, behind a proxy (TRUST_PROXY=1, the
 * test saying X-Forwarded-For). Replies are held by the mock upstream until the test lets them go.
 */
requireRedisServer();

const PREFIX = 'resume-limits:';
const MAX_STREAMS = 3;
const RATE_LIMIT = 60;
let redisServer: ChildProcess;
let url: string;
let upstream: MockUpstream;
let observer: Redis;

interface Instance {
  server: TestServer;
  buffer: RedisStreamBuffer;
  close(): Promise<void>;
}
let a: Instance;
let b: Instance;

async function startInstance(): Promise<Instance> {
  const redis = await connectTestClient(url);
  const store = await RedisStore.open({ url, keyPrefix: PREFIX });
  const limiter = new RedisConcurrencyLimiter({ redis, keyPrefix: PREFIX });
  const buffer = new RedisStreamBuffer({ redis, keyPrefix: PREFIX, blockMs: 200 });
  const replyBus = await RedisReplyBus.open({ redis, keyPrefix: PREFIX });
  const server = await startTestServer({
    upstream,
    store,
    env: {
      TRUST_PROXY: '1',
      CHATDROP_MAX_STREAMS_PER_IP: String(MAX_STREAMS),
      CHATDROP_RATE_LIMIT: String(RATE_LIMIT),
      // Far longer than any test: only the held upstream decides when a reply ends.
      CHATDROP_RESUME_GRACE_MS: '600000',
    },
    shared: { limiter, rateLimitStore: createRateLimitStore(redis, `${PREFIX}rate:`), streamBuffer: buffer, replyBus },
  });
  return {
    server,
    buffer,
    async close() {
      await server.close(); // and the store
      await buffer.close();
      await replyBus.close();
      await limiter.close();
      redis.disconnect();
    },
  };
}

const releases: (() => void)[] = [];
beforeAll(async () => {
  const port = await freePort();
  redisServer = await startRedis(port);
  url = `redis://127.0.0.1:${port}`;
  upstream = await startMockUpstream();
  observer = await connectTestClient(url);
  [a, b] = [await startInstance(), await startInstance()];
}, 30_000);
afterAll(async () => {
  for (const release of releases) release();
  await a?.close();
  await b?.close();
  observer?.disconnect();
  await upstream?.close();
  if (redisServer !== undefined) await stopRedis(redisServer);
}, 30_000);

const answer = Array.from({ length: 30 }, (_, i) => `part${i} `);
const from = (ip: string): Record<string, string> => ({ 'X-Forwarded-For': ip });

/**
 * Starts a reply on A that the upstream holds after its first delta until `release()`; the asker
 * reads up to that delta and goes (the grace keeps the reply running). Returns its message id.
 */
async function heldReply(ip: string): Promise<{ messageId: string; release: () => void }> {
  let release!: () => void;
  const until = new Promise<void>((resolve) => (release = resolve));
  releases.push(release);
  upstream.script({ kind: 'deltas', deltas: answer, holdBefore: { delta: 1, until } });
  const asker = new AbortController();
  const { events } = await readEvents(await postChat(a.server.url, { message: 'Tell me everything' }, { headers: from(ip), signal: asker.signal }), (event) =>
    event.type === 'text-delta' ? 'stop' : undefined,
  );
  asker.abort();
  const start = events[0]!.event as Extract<StreamEvent, { type: 'message-start' }>;
  return { messageId: start.messageId, release };
}

/** A resumed reader from `ip` after event 1 (message-start), read in the background. */
function resume(on: Instance, messageId: string, ip: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${on.server.url}/api/chat/${messageId}/stream`, { headers: { 'Last-Event-ID': '1', ...from(ip) }, signal });
}

interface Reader {
  events: ReceivedEvent[];
  done: Promise<unknown>;
}
function readInBackground(response: Response): Reader {
  const reader: Reader = { events: [], done: Promise.resolve() };
  reader.done = readEvents(response, (_event, all) => void (reader.events = all)).then(({ events }) => (reader.events = events), () => undefined);
  return reader;
}

/** Every event after id 1 exactly once, in order, to message-end: the whole answer. */
function expectWholeAfterStart(events: ReceivedEvent[]): void {
  expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 2));
  expect(textOf(events)).toBe(answer.join(''));
  expect(events.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'stop' });
}

async function connectedClients(): Promise<number> {
  return Number(/connected_clients:(\d+)/.exec(await observer.info('clients'))?.[1]);
}

describe('resuming a reply', () => {
  it('150 simultaneous resumes of one message from one address: at most the stream limit get one, the rest 429 with Retry-After', async () => {
    const { messageId, release } = await heldReply('192.0.2.10');
    const responses = await Promise.all(Array.from({ length: 150 }, (_, i) => resume(i % 2 === 0 ? a : b, messageId, '198.51.100.77')));
    const streams = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status !== 200);
    expect(streams.length).toBeGreaterThanOrEqual(1);
    expect(streams.length).toBeLessThanOrEqual(MAX_STREAMS);
    const codes = new Set<string>();
    for (const response of refused) {
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      const body: unknown = await response.json();
      if (!isApiErrorBody(body)) throw new Error(`not the contract's error body: ${JSON.stringify(body)}`);
      codes.add(body.error.code);
    }
    // Both limits, counted across both instances: the rate limit (60 a minute) and the slots.
    expect([...codes].sort()).toEqual(['busy', 'rate-limited']);

    const readers = streams.map(readInBackground);
    release();
    for (const reader of readers) {
      await reader.done;
      expectWholeAfterStart(reader.events);
    }
  });

  it('follows one live reply for a hundred readers on two instances on the same Redis connections as for two, each getting every event once', async () => {
    const { messageId, release } = await heldReply('192.0.2.20');
    const open = async (on: Instance, ip: string): Promise<Reader> => {
      const response = await resume(on, messageId, ip);
      expect(response.status).toBe(200);
      return readInBackground(response);
    };
    // One reader on each instance: each has its follower's connection now.
    const readers = [await open(a, '203.0.113.1'), await open(b, '203.0.113.2')];
    await expect.poll(() => readers.every((reader) => reader.events.length > 0), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => a.buffer.following + b.buffer.following, { timeout: 30_000 }).toBe(2);
    const base = await connectedClients();

    for (let i = 0; i < 98; i++) readers.push(await open(i % 2 === 0 ? a : b, `203.0.113.${i + 3}`));
    await expect.poll(() => readers.every((reader) => reader.events.length > 0), { timeout: 30_000 }).toBe(true);
    // Still following live (the upstream holds the rest), on exactly the connections of before.
    expect(a.buffer.following + b.buffer.following).toBe(2);
    expect(await connectedClients()).toBe(base);

    release();
    for (const reader of readers) {
      await reader.done;
      expectWholeAfterStart(reader.events);
    }
  });

  it('lets a visitor whose replies fill the stream limit resume one of them from the same address', async () => {
    const held = [await heldReply('192.0.2.40'), await heldReply('192.0.2.40'), await heldReply('192.0.2.40')];
    const busy = await postChat(a.server.url, { message: 'One more' }, { headers: from('192.0.2.40') });
    expect(busy.status).toBe(429);
    await busy.body?.cancel();
    const resumed = await resume(b, held[0]!.messageId, '192.0.2.40');
    expect(resumed.status).toBe(200);
    const reader = readInBackground(resumed);
    for (const { release } of held) release();
    await reader.done;
    expectWholeAfterStart(reader.events);
  });

  it('gives a reader\'s stream slot back when it leaves, on whichever instance the next one comes', async () => {
    const { messageId, release } = await heldReply('192.0.2.30');
    const leaving = new AbortController();
    const first = await resume(a, messageId, '198.51.100.90', leaving.signal);
    const others = [await resume(b, messageId, '198.51.100.90'), await resume(a, messageId, '198.51.100.90')];
    expect([first, ...others].map((response) => response.status)).toEqual([200, 200, 200]);
    const full = await resume(b, messageId, '198.51.100.90');
    expect(full.status).toBe(429);
    expect(await full.json()).toMatchObject({ error: { code: 'busy' } });

    leaving.abort();
    let next: Response | undefined;
    await expect
      .poll(
        async () => {
          next = await resume(b, messageId, '198.51.100.90');
          if (next.status !== 200) await next.body?.cancel();
          return next.status;
        },
        { timeout: 30_000, interval: 100 },
      )
      .toBe(200);
    const readers = [...others, next!].map(readInBackground);
    release();
    for (const reader of readers) {
      await reader.done;
      expectWholeAfterStart(reader.events);
    }
  });
});

describe('one visitor on an IPv6 network', () => {
  it('gets the stream limit once across six addresses of one /64, for chat streams and resumes alike', async () => {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    releases.push(release);
    upstream.script({ kind: 'deltas', deltas: answer, holdBefore: { delta: 1, until } });
    const statuses: number[] = [];
    const streams: Response[] = [];
    for (let i = 1; i <= 6; i++) {
      const response = await postChat(i % 2 === 0 ? a.server.url : b.server.url, { message: `Question ${i}` }, { headers: from(`2001:db8:7:7::${i}`) });
      statuses.push(response.status);
      if (response.status === 200) streams.push(response);
      else expect(await response.json()).toMatchObject({ error: { code: 'busy' } });
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);

    // Resumes from another /64 (a different visitor), each address new: three streams, no more.
    const reading = readInBackground(streams[0]!);
    await expect.poll(() => reading.events.length > 1, { timeout: 30_000 }).toBe(true);
    const start = reading.events[0]!.event as Extract<StreamEvent, { type: 'message-start' }>;
    const resumed: number[] = [];
    const resumedStreams: Response[] = [];
    for (let i = 1; i <= 6; i++) {
      const response = await resume(i % 2 === 0 ? a : b, start.messageId, `2001:db8:8:8:${i}::${i}`);
      resumed.push(response.status);
      if (response.status === 200) resumedStreams.push(response);
      else await response.body?.cancel();
    }
    expect(resumed).toEqual([200, 200, 200, 429, 429, 429]);
    release();
    await Promise.all([...streams.slice(1), ...resumedStreams].map((response) => readEvents(response)));
    await reading.done;
  });
});
