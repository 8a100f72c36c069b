import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@chatdrop/shared';
import { RedisStore } from '../store/redis-store.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { articlePage, startStaticSite, type StaticSite } from '../test/static-site.js';
import { startTestServer, type TestServer } from '../test/test-server.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

const PAGES: Record<string, string> = {
  '/help/reset': articlePage('Reset your password', {
    'On the web': 'Choose Forgot password on the sign-in page and open the reset link we email you; it works for thirty minutes.',
  }),
  '/help/plans': articlePage('Plans and pricing', { Pro: 'The Pro plan costs twenty dollars per member per month and includes email support.' }),
  '/help/domains': articlePage('Custom domains', { Setup: 'Point a CNAME record at our servers, then verify the custom domain in your workspace settings.' }),
};

let upstream: MockUpstream;
let redisProcess: ChildProcess;
let redisUrl: string;
let site: StaticSite;
let releaseSitemap: () => void;
const servers: TestServer[] = [];
const connections: Redis[] = [];

beforeAll(async () => {
  upstream = await startMockUpstream();
  const port = await freePort();
  redisProcess = await startRedis(port);
  redisUrl = `redis://127.0.0.1:${port}`;
  site = await startStaticSite(Object.fromEntries(Object.entries(PAGES).map(([path, body]) => [path, { body }])));
  // The sitemap is held until the test has seen both instances say they are not ready yet.
  const held = new Promise<void>((resolve) => (releaseSitemap = resolve));
  site.set('/sitemap.xml', {
    type: 'application/xml',
    body: `<urlset>${Object.keys(PAGES).map((path) => `<url><loc>${site.origin}${path}</loc></url>`).join('')}</urlset>`,
    until: held,
  });
});
afterAll(async () => {
  releaseSitemap?.();
  await Promise.all(servers.map((s) => s.close()));
  for (const redis of connections) redis.disconnect();
  await site?.close();
  await upstream?.close();
  if (redisProcess) await stopRedis(redisProcess);
});

/** One instance as main.ts builds it with REDIS_URL: its own connection, conversations and knowledge in Redis. */
async function instance(): Promise<TestServer> {
  const redis = await connectTestClient(redisUrl);
  connections.push(redis);
  const server = await startTestServer({
    upstream,
    env: { CHATDROP_KNOWLEDGE: `${site.origin}/sitemap.xml`, CHATDROP_RATE_LIMIT: '1000' },
    store: await RedisStore.open({ url: redisUrl }),
    inbox: { redis },
  });
  servers.push(server);
  return server;
}

const readyz = async (server: TestServer): Promise<number> => (await fetch(`${server.url}/readyz`)).status;

/** The sources event and the system message the upstream got for one question. */
async function ask(server: TestServer, message: string): Promise<{ sources: unknown; system: string }> {
  upstream.script({ kind: 'deltas', deltas: ['From the help pages.'] });
  const before = upstream.requests.length;
  const { events } = await readEvents(await postChat(server.url, { message }));
  const sources = events.map((e) => e.event).find((e): e is Extract<StreamEvent, { type: 'sources' }> => e.type === 'sources')?.sources;
  expect(upstream.requests).toHaveLength(before + 1);
  const body = upstream.requests[before]?.body as { messages: { role: string; content: string }[] };
  return { sources, system: body.messages[0]?.content ?? '' };
}

describe('knowledge on two instances sharing one Redis', () => {
  let a: TestServer;
  let b: TestServer;

  it('says 503 on /readyz on both while the one crawl runs, then 200 on both', async () => {
    // Started together, as a deployment starts its instances: both look for an index, find none,
    // and race for the crawl lock.
    [a, b] = await Promise.all([instance(), instance()]);
    await expect.poll(() => site.requests.filter((r) => r.path === '/sitemap.xml').length, { timeout: 15_000 }).toBe(1);
    expect(await readyz(a)).toBe(503);
    expect(await readyz(b)).toBe(503);
    releaseSitemap();
    await expect.poll(() => readyz(a), { timeout: 20_000 }).toBe(200);
    await expect.poll(() => readyz(b), { timeout: 20_000 }).toBe(200);
  }, 60_000);

  it('crawled the site once: every page fetched exactly once, one index version committed', async () => {
    const counts = new Map<string, number>();
    for (const request of site.requests) counts.set(request.path, (counts.get(request.path) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({
      '/robots.txt': 1,
      '/sitemap.xml': 1,
      '/help/reset': 1,
      '/help/plans': 1,
      '/help/domains': 1,
    });
    const redis = connections[0] as Redis;
    expect(await redis.get('chatdrop:knowledge:version')).toBe('1');
    const [statusA, statusB] = await Promise.all([a.knowledge!.status(), b.knowledge!.status()]);
    expect(statusA.lastCrawl).toEqual(statusB.lastCrawl);
    expect(statusA.lastCrawl).toMatchObject({ fetched: 3, unchanged: 0, removed: 0, failures: {} });
    expect([statusA.pages, statusA.passages]).toEqual([statusB.pages, statusB.passages]);
    expect(statusA.pages).toBe(3);
  });

  it('answers a question on either instance from the same index: the same sources, the same passages', async () => {
    for (const question of ['How do I reset my password?', 'How do I set up a custom domain with a CNAME?']) {
      const onA = await ask(a, question);
      const onB = await ask(b, question);
      expect(onA.sources).toEqual(onB.sources);
      expect(onA.system).toBe(onB.system);
      expect((onA.sources as unknown[]).length).toBeGreaterThan(0);
    }
    const reset = await ask(b, 'How do I reset my password?');
    expect(reset.sources).toEqual([{ title: 'Reset your password', url: `${site.origin}/help/reset` }]);
    expect(reset.system).toContain('open the reset link we email you');
  });
});
