import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../store/redis-store.js';
import { inboxFetch, signIn, startInboxServer } from '../test/inbox-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import type { TestServer } from '../test/test-server.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

const BASE = 'https://help.example.com/';

let upstream: MockUpstream;
let redisProcess: ChildProcess;
let redisUrl: string;
let folder: string;
beforeAll(async () => {
  upstream = await startMockUpstream();
  const port = await freePort();
  redisProcess = await startRedis(port);
  redisUrl = `redis://127.0.0.1:${port}`;
  // A small help centre: two articles, a page that asks not to be indexed, and one with no text.
  folder = mkdtempSync(join(tmpdir(), 'chatdrop-inbox-knowledge-'));
  writeFileSync(
    join(folder, 'reset-password.md'),
    '# Reset your password\n\n## On the web\n\nChoose Forgot password on the sign-in page, enter your email address, and open the reset link we send.\n\n## On your phone\n\nIn the app, tap Sign in, then Forgot password.\n',
  );
  writeFileSync(join(folder, 'plans.md'), '# Plans and pricing\n\n## Pro\n\nThe Pro plan costs twenty dollars per member per month and includes email support.\n');
  writeFileSync(join(folder, 'internal.html'), '<html><head><meta name="robots" content="noindex"><title>Internal</title></head><body><main><p>Staff only notes about refunds.</p></main></body></html>');
  writeFileSync(join(folder, 'empty.md'), '\n');
});
afterAll(async () => {
  await upstream?.close();
  if (redisProcess) await stopRedis(redisProcess);
  if (folder) rmSync(folder, { recursive: true, force: true });
});

const backends: { name: string; open: () => Promise<{ store?: RedisStore; redis?: Redis; cleanup: () => Promise<void> }> }[] = [
  { name: 'SQLite', open: async () => ({ cleanup: async () => {} }) },
  {
    name: 'Redis',
    // Conversations and the knowledge index on one redis-server, as main.ts wires REDIS_URL.
    open: async () => {
      const redis = await connectTestClient(redisUrl);
      await redis.flushdb();
      return { store: await RedisStore.open({ url: redisUrl }), redis, cleanup: async () => redis.disconnect() };
    },
  },
];

describe.each(backends)('knowledge in the support inbox, on $name', ({ open }) => {
  let server: TestServer;
  let cookie: string;
  let cleanup: () => Promise<void>;
  const sources: unknown[] = [];
  let uncoveredId = '';

  /** One turn of a knowledge-grounded chat: the real route retrieves, the mock upstream answers. */
  const ask = async (message: string): Promise<string> => {
    upstream.script({ kind: 'deltas', deltas: ['Here is ', 'what I know.'] });
    const { events } = await readEvents(await postChat(server.url, { message }));
    const start = events[0]?.event;
    const given = events[1]?.event;
    if (start?.type !== 'message-start' || given?.type !== 'sources') throw new Error(`no sources event: ${JSON.stringify(events)}`);
    sources.push(given.sources);
    return start.conversationId;
  };

  beforeAll(async () => {
    const backend = await open();
    cleanup = backend.cleanup;
    server = await startInboxServer({
      upstream,
      ...(backend.store === undefined ? {} : { store: backend.store }),
      ...(backend.redis === undefined ? {} : { inbox: { redis: backend.redis } }),
      env: { CHATDROP_KNOWLEDGE: `${folder}=${BASE}`, CHATDROP_RATE_LIMIT: '1000' },
    });
    // /readyz says 200 once the first index is built.
    for (const deadline = Date.now() + 20_000; (await fetch(`${server.url}/readyz`)).status !== 200; ) {
      if (Date.now() > deadline) throw new Error('the knowledge index was not built within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    cookie = await signIn(server);
    await ask('How do I reset my password?');
    uncoveredId = await ask('What is the capital of France?');
    await ask('How much is the Pro plan?');
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await cleanup?.();
  });

  const get = async (path: string): Promise<any> => {
    const response = await inboxFetch(server, path, { cookie });
    expect(response.status, path).toBe(200);
    return response.json();
  };

  it('counts the question no knowledge source covered among the day\'s figures', async () => {
    // The chats themselves: two found their page, one found none.
    expect(sources).toEqual([[{ title: 'Reset your password', url: `${BASE}reset-password` }], [], [{ title: 'Plans and pricing', url: `${BASE}plans` }]]);
    const figures = await get('/api/inbox/figures?days=1');
    expect(figures.days).toEqual([expect.objectContaining({ day: new Date().toISOString().slice(0, 10), conversations: 3, messages: 6, uncovered: 1 })]);
    const transcript = await get(`/api/inbox/conversations/${uncoveredId}`);
    expect(transcript.messages[1]).toMatchObject({ role: 'assistant', sources: [] });
  });

  it('shows the knowledge status beside the figures: pages, passages, last crawl, next crawl and failures by reason', async () => {
    const { knowledge } = await get('/api/inbox/figures?days=7');
    expect(knowledge).toEqual({
      pages: 2,
      passages: expect.any(Number),
      crawling: false,
      lastCrawl: expect.any(String),
      nextCrawl: expect.any(String),
      failures: { noindex: 1, empty: 1 },
    });
    // At least a passage per article; as many as the index holds.
    expect(knowledge.passages).toBeGreaterThanOrEqual(2);
    expect(knowledge.passages).toBe((await server.knowledge!.status()).passages);
    // Refreshed every CHATDROP_KNOWLEDGE_REFRESH_HOURS (24) after the last crawl ended.
    expect(Date.parse(knowledge.nextCrawl) - Date.parse(knowledge.lastCrawl)).toBe(24 * 60 * 60 * 1000);
    expect(Date.now() - Date.parse(knowledge.lastCrawl)).toBeLessThan(60_000);
    expect(await get('/api/inbox/session')).toMatchObject({ knowledge: true });
  });
});
