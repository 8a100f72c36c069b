import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { knowledgeStoreSuite, page } from './knowledge-store.suite.js';
import { SqliteKnowledgeStore } from './sqlite-knowledge-store.js';
import { terms } from './tokenize.js';

knowledgeStoreSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatdrop-knowledge-'));
  const store = new SqliteKnowledgeStore({ path: join(dir, 'k.db') });
  return { store, close: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
});

it('finds the index again after a restart, without crawling', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatdrop-knowledge-'));
  const path = join(dir, 'k.db');
  const first = new SqliteKnowledgeStore({ path });
  await first.commit({ fetched: [page('https://h.example/a', 'Plans', { Pro: 'Pro costs twenty dollars per member.' })], keep: [], record: { startedAt: 'a', endedAt: 'b', sourcesKey: 'k', fetched: 1, unchanged: 0, removed: 0, failures: {} } });
  await first.close();
  const second = new SqliteKnowledgeStore({ path });
  expect(await second.hasIndex()).toBe(true);
  expect((await second.search(terms('pro plan'), 3)).passages[0]?.url).toBe('https://h.example/a');
  await second.close();
  rmSync(dir, { recursive: true, force: true });
});
