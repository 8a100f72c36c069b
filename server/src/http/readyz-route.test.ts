import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { startTestServer, type TestServer } from '../test/test-server.js';

/** `/readyz` with REDIS_URL: the real app, its connection to a real redis-server. */
requireRedisServer();

let port: number;
let redisServer: ChildProcess;
let redis: Redis;
let observer: Redis;
let upstream: MockUpstream;
let server: TestServer;

beforeAll(async () => {
  port = await freePort();
  redisServer = await startRedis(port);
  redis = await connectTestClient(`redis://127.0.0.1:${port}`);
  observer = await connectTestClient(`redis://127.0.0.1:${port}`);
  upstream = await startMockUpstream();
  server = await startTestServer({ upstream, inbox: { redis } });
}, 30_000);
afterAll(async () => {
  await server?.close();
  await upstream?.close();
  redis?.disconnect();
  observer?.disconnect();
  if (redisServer !== undefined) await stopRedis(redisServer);
}, 30_000);

/** PINGs the server has answered so far (INFO commandstats). */
async function pings(): Promise<number> {
  const stats = await observer.info('commandstats');
  return Number(/cmdstat_ping:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

describe('GET /readyz with Redis', () => {
  it('answers a flood of probes with about one PING a second, not one per probe', async () => {
    const before = await pings();
    const started = Date.now();
    const statuses = await Promise.all(Array.from({ length: 200 }, async () => (await fetch(`${server.url}/readyz`)).status));
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(statuses.every((status) => status === 200)).toBe(true);
    const used = (await pings()) - before;
    // One per probe would be 200; one answer serves every probe for a second.
    expect(used).toBeGreaterThanOrEqual(1);
    expect(used).toBeLessThanOrEqual(seconds + 1);
  });

  it('says 503 with Retry-After while Redis is away, and 200 again once it is back', async () => {
    await stopRedis(redisServer);
    await expect.poll(async () => (await fetch(`${server.url}/readyz`)).status, { timeout: 10_000 }).toBe(503);
    const down = await fetch(`${server.url}/readyz`);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(await down.json()).toEqual({ error: { code: 'upstream-unavailable', message: expect.any(String) } });
    redisServer = await startRedis(port);
    await expect.poll(async () => (await fetch(`${server.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
  });
});
