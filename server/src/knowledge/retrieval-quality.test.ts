import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import type { KnowledgeStore } from './knowledge-store.js';
import { readFolder } from './read-folder.js';
import { RedisKnowledgeStore } from './redis-knowledge-store.js';
import { measureRetrieval } from './retrieval-quality.js';
import { RETRIEVAL_SET } from './retrieval-set.js';
import { SqliteKnowledgeStore } from './sqlite-knowledge-store.js';

requireRedisServer();

/** The demo help centre's articles, as their authors wrote them. */
const HELP = fileURLToPath(new URL('../../../demo/help/', import.meta.url));
const slugOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

let server: ChildProcess;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis(await freePort());
  redis = await connectTestClient(`redis://127.0.0.1:${server.spawnargs[server.spawnargs.indexOf('--port') + 1]}`);
});
afterAll(async () => {
  redis?.disconnect();
  if (server) await stopRedis(server);
});

async function indexed(store: KnowledgeStore): Promise<KnowledgeStore> {
  const pages = await readFolder(HELP, 'https://help.example.com/', { maxFiles: 100, maxBytes: 1 << 20, onFailure: () => {} });
  await store.commit({ fetched: pages, keep: [], record: { startedAt: 'a', endedAt: 'b', sourcesKey: 'k', fetched: pages.length, unchanged: 0, removed: 0, failures: {} } });
  return store;
}

describe('retrieval quality on the demo help centre (the labelled set)', () => {
  it('has at least 40 questions, follow-ups and off-topic ones among them', () => {
    expect(RETRIEVAL_SET.filter((q) => q.page !== null).length).toBeGreaterThanOrEqual(40);
    expect(RETRIEVAL_SET.filter((q) => q.after !== undefined && q.page !== null).length).toBeGreaterThanOrEqual(4);
    expect(RETRIEVAL_SET.filter((q) => q.page === null).length).toBeGreaterThanOrEqual(3);
  });

  for (const backend of ['SQLite (FTS5)', 'Redis (MiniSearch)'] as const) {
    it(`finds the right page in the first three for at least 90% of the questions, and nothing for off-topic ones: ${backend}`, async () => {
      const store = await indexed(backend.startsWith('SQLite') ? new SqliteKnowledgeStore({ path: ':memory:' }) : new RedisKnowledgeStore({ redis, keyPrefix: `test:${randomUUID()}:` }));
      const quality = await measureRetrieval(store, slugOf);
      await store.close();
      expect(quality.recallAt3, quality.misses.join('\n')).toBeGreaterThanOrEqual(0.9);
      expect(quality.offTopicEmpty, quality.misses.join('\n')).toBe(quality.offTopic);
    });
  }
});
