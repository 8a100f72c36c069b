import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Passage } from '../server/src/knowledge/chunk.js';
import type { IndexedPage } from '../server/src/knowledge/crawl.js';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { percentile } from './percentile.js';
import { repoRoot } from './repo-root.js';
import { startRedis } from './redis-server.js';
import { workspaceImport } from './workspace-import.js';

const PASSAGES = 10_000;
const DEMO_HTML = join(repoRoot, 'demo', 'dist', 'help');
const DEMO_MD = join(repoRoot, 'demo', 'help');

/**
 * Knowledge (crawl, index, retrieval): pages indexed per second from a local site over HTTP
 * (against fetching the same pages alone), retrieval p50/p99 and the CPU a chat's grounding adds
 * at 10,000 passages (against a bare FTS5 query of the same terms), the index's size on disk
 * (against the passages' text), and recall@3 of the labelled set on both backends.
 */
export async function knowledgeBench(): Promise<Measured[]> {
  if (!existsSync(DEMO_HTML)) return [notMeasured('knowledge: pages indexed', '/s', 'demo/dist/help is missing: run pnpm build')];
  const dir = await mkdtemp(join(tmpdir(), 'chatdrop-bench-knowledge-'));
  try {
    return [...(await crawlRows()), ...(await retrievalRows(dir)), ...(await qualityRows())];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The demo help centre's HTML pages, served 10 times over under different paths (150 pages),
 * crawled as the server crawls them (extraction in an `ExtractPool` worker), and again with
 * extraction on this thread: pages per second. Then 15 of them and one page of the largest size
 * extract.ts accepts, both ways: the longest the event loop was held meanwhile (what every
 * visitor's stream on the instance waits).
 */
async function crawlRows(): Promise<Measured[]> {
  const { startStaticSite } = await import('../server/src/test/static-site.js');
  const { crawl } = await import('../server/src/knowledge/crawl.js');
  const { ExtractPool } = await import('../server/src/knowledge/extract-pool.js');
  const files = (await readdir(DEMO_HTML)).filter((f) => f.endsWith('.html') && f !== 'index.html');
  const site = await startStaticSite({});
  const urls: string[] = [];
  for (let copy = 0; copy < 10; copy++) {
    for (const file of files) {
      const path = `/c${copy}/${file}`;
      site.set(path, { body: await readFile(join(DEMO_HTML, file), 'utf8') });
      urls.push(site.origin + path);
    }
  }
  const sitemap = (list: string[]) => ({ type: 'application/xml', body: `<urlset>${list.map((u) => `<url><loc>${u}</loc></url>`).join('')}</urlset>` });
  site.set('/sitemap.xml', sitemap(urls));
  // 29,000 elements, just under the limit: a second or two of linkedom wherever it runs.
  site.set('/largest.html', { body: `<html><body><p>${'a<br>'.repeat(29_000)}</p></body></html>` });
  site.set('/with-largest.xml', sitemap([...urls.slice(0, files.length), `${site.origin}/largest.html`]));
  const pool = new ExtractPool();
  const inWorker = (html: string, url: string) => pool.extract(html, url);
  /** The crawl's pages per second and the event loop's longest stall (ms) during it. */
  const timed = async (extractHtml: typeof inWorker | undefined, map = '/sitemap.xml') => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const result = await crawl([{ kind: 'sitemap', url: `${site.origin}${map}` }], { known: new Map(), limits: { delayMs: 0, concurrency: 4 }, extractHtml });
    const seconds = (performance.now() - started) / 1000;
    // The histogram records a stall at its next tick: let it come, or a stall at the very end is lost.
    await new Promise((resolve) => setTimeout(resolve, 30));
    delay.disable();
    return { pages: result.fetched.length, perSecond: round(result.fetched.length / seconds, 1), stallMs: round(delay.max / 1e6, 0) };
  };
  try {
    // Warm-up: the tokenizer's tables load on first use, the worker starts.
    await crawl([{ kind: 'page', url: urls[0] as string }], { known: new Map(), limits: { delayMs: 0 }, extractHtml: inWorker });
    await crawl([{ kind: 'page', url: urls[0] as string }], { known: new Map(), limits: { delayMs: 0 } });
    const worker = await timed(inWorker);
    const here = await timed(undefined);
    const stallInWorker = (await timed(inWorker, '/with-largest.xml')).stallMs;
    const stallHere = (await timed(undefined, '/with-largest.xml')).stallMs;
    const started = performance.now();
    await Promise.all(Array.from({ length: 4 }, async (_, w) => {
      for (let i = w; i < urls.length; i += 4) await (await fetch(urls[i] as string)).text();
    }));
    const fetchSeconds = (performance.now() - started) / 1000;
    return [
      measured({
        figure: `knowledge: pages crawled and indexed (${worker.pages} demo articles over HTTP, 4 at a time, extraction in 1 worker)`,
        unit: 'pages/s',
        value: worker.perSecond,
        baseline: 'fetching the same pages alone',
        baselineValue: round(urls.length / fetchSeconds, 1),
        note: `extraction (Readability over linkedom) and token counting take nearly all the time; with extraction on the event loop: ${here.perSecond} pages/s`,
      }),
      measured({
        figure: `knowledge: the event loop's longest stall crawling ${files.length} demo articles and one page of 29,000 elements, extraction in a worker`,
        unit: 'ms',
        value: stallInWorker,
        baseline: 'extraction on the event loop',
        baselineValue: stallHere,
        note: `monitorEventLoopDelay max: how long every visitor's stream on the instance may wait; the 150 articles alone: ${worker.stallMs} ms in a worker, ${here.stallMs} ms on the event loop`,
      }),
    ];
  } finally {
    await pool.close();
    await site.close();
  }
}

/** A corpus of 10,000 passages: the demo articles' passages, each copy with words of its own. */
export async function syntheticPages(): Promise<IndexedPage[]> {
  const { readFolder } = await import('../server/src/knowledge/read-folder.js');
  const { hashPassages } = await import('../server/src/knowledge/crawl.js');
  const base = await readFolder(DEMO_MD, 'https://help.example.com/', { maxFiles: 1000, maxBytes: 1 << 20, onFailure: () => {} });
  const pages: IndexedPage[] = [];
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
  for (let copy = 0; pages.reduce((n, p) => n + p.passages.length, 0) < PASSAGES; copy++) {
    for (const page of base) {
      const url = `https://help.example.com/product-${copy}/${page.url.slice(page.url.lastIndexOf('/') + 1)}`;
      const tag = `${words[copy % words.length]} ${words[Math.floor(copy / words.length) % words.length]} product${copy}`;
      const passages: Passage[] = page.passages.map((p) => ({ ...p, url, title: `${p.title} (${tag})`, text: `${p.text} ${tag}` }));
      pages.push({ ...page, url, title: `${page.title} (${tag})`, passages, hash: hashPassages(passages) });
    }
  }
  return pages;
}

async function retrievalRows(dir: string): Promise<Measured[]> {
  const { SqliteKnowledgeStore } = await import('../server/src/knowledge/sqlite-knowledge-store.js');
  const { retrieve } = await import('../server/src/knowledge/retrieve.js');
  const { groundQuestion } = await import('../server/src/knowledge/ground-question.js');
  const { parseConfig } = await import('../server/src/config.js');
  const { RETRIEVAL_SET } = await import('../server/src/knowledge/retrieval-set.js');
  const { terms } = await import('../server/src/knowledge/tokenize.js');
  const pages = await syntheticPages();
  const passageCount = pages.reduce((n, p) => n + p.passages.length, 0);
  const textBytes = pages.reduce((n, p) => n + p.passages.reduce((m, q) => m + Buffer.byteLength(q.text) + Buffer.byteLength(q.title), 0), 0);
  const path = join(dir, 'knowledge.db');
  const store = new SqliteKnowledgeStore({ path });
  await store.commit({ fetched: pages, keep: [], record: { startedAt: '', endedAt: '', sourcesKey: 'bench', fetched: pages.length, unchanged: 0, removed: 0, failures: {} } });
  const config = parseConfig({});
  const { pino } = await workspaceImport<typeof import('pino')>('server', 'pino');
  const log = pino({ level: 'silent' });
  const knowledge = { retrieve: (input: Parameters<typeof retrieve>[1]) => retrieve(store, input), offer: { handoff: false } };
  const questions = RETRIEVAL_SET.map((q) => q.question);

  const { default: Database } = await workspaceImport<{ default: typeof import('better-sqlite3') }>('server', 'better-sqlite3');
  const raw = new Database(path, { readonly: true });
  const bare = raw.prepare('SELECT rowid, bm25(knowledge_fts) AS s FROM knowledge_fts WHERE knowledge_fts MATCH ? ORDER BY s LIMIT 20');

  const wall: number[] = [];
  const rawWall: number[] = [];
  let cpuMicros = 0;
  let rounds = 0;
  for (let pass = 0; pass < 6; pass++) {
    for (const question of questions) {
      const started = performance.now();
      await retrieve(store, { question, history: [] });
      if (pass > 0) wall.push(performance.now() - started);
      const query = terms(question).map((t) => `"${t}"`).join(' OR ');
      const t = performance.now();
      if (query !== '') bare.all(query);
      if (pass > 0) rawWall.push(performance.now() - t);
      // The whole step the chat route adds: retrieval and the grounded prompt, in CPU time.
      const cpu = process.cpuUsage();
      await groundQuestion(knowledge, { config, question, history: [], log });
      if (pass > 0) {
        const used = process.cpuUsage(cpu);
        cpuMicros += used.user + used.system;
        rounds++;
      }
    }
  }
  raw.close();
  await store.close();
  const bytes = ['', '-wal', '-shm'].reduce((n, suffix) => n + (existsSync(path + suffix) ? statSync(path + suffix).size : 0), 0);
  const cpuMs = cpuMicros / rounds / 1000;
  return [
    measured({ figure: `knowledge: retrieval at ${passageCount} passages, p50`, unit: 'ms', value: round(percentile(wall, 50), 3), baseline: 'bare FTS5 MATCH of the same terms', baselineValue: round(percentile(rawWall, 50), 3) }),
    measured({ figure: `knowledge: retrieval at ${passageCount} passages, p99`, unit: 'ms', value: round(percentile(wall, 99), 3), baseline: 'bare FTS5 MATCH of the same terms', baselineValue: round(percentile(rawWall, 99), 3) }),
    measured({
      figure: `knowledge: CPU added per chat at ${passageCount} passages (retrieval + grounded prompt)`,
      unit: 'ms',
      value: round(cpuMs, 3),
      target: '< 2 ms',
      met: cpuMs < 2,
    }),
    measured({
      figure: `knowledge: SQLite index on disk, ${passageCount} passages`,
      unit: 'MB',
      value: round(bytes / 1e6, 2),
      baseline: "the passages' text and titles",
      baselineValue: round(textBytes / 1e6, 2),
    }),
  ];
}

async function qualityRows(): Promise<Measured[]> {
  const { readFolder } = await import('../server/src/knowledge/read-folder.js');
  const { SqliteKnowledgeStore } = await import('../server/src/knowledge/sqlite-knowledge-store.js');
  const { RedisKnowledgeStore } = await import('../server/src/knowledge/redis-knowledge-store.js');
  const { measureRetrieval } = await import('../server/src/knowledge/retrieval-quality.js');
  const pages = await readFolder(DEMO_MD, 'https://help.example.com/', { maxFiles: 1000, maxBytes: 1 << 20, onFailure: () => {} });
  const record = { startedAt: '', endedAt: '', sourcesKey: 'bench', fetched: pages.length, unchanged: 0, removed: 0, failures: {} };
  const slugOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);
  const rows: Measured[] = [];
  const sqlite = new SqliteKnowledgeStore({ path: ':memory:' });
  await sqlite.commit({ fetched: pages, keep: [], record });
  const q = await measureRetrieval(sqlite, slugOf);
  await sqlite.close();
  const row = (backend: string, quality: typeof q): Measured =>
    measured({
      figure: `knowledge: recall@3 of the right page, ${quality.answerable} labelled questions (${backend})`,
      unit: '',
      value: round(quality.recallAt3, 3),
      target: '≥ 0.9',
      met: quality.recallAt3 >= 0.9,
      note: `off-topic questions given no passage: ${quality.offTopicEmpty}/${quality.offTopic}${quality.misses.length > 0 ? `; misses: ${quality.misses.join(' | ')}` : ''}`,
    });
  rows.push(row('SQLite FTS5', q));
  rows.push(await embeddingsRow(pages, slugOf, q.recallAt3));
  const redis = await startRedis().catch((error: unknown) => error as Error);
  if (redis instanceof Error) return [...rows, notMeasured('knowledge: recall@3 (Redis)', '', redis.message)];
  const { Redis } = await workspaceImport<typeof import('ioredis')>('server', 'ioredis');
  const client = new Redis(redis.url);
  try {
    const store = new RedisKnowledgeStore({ redis: client });
    await store.commit({ fetched: pages, keep: [], record });
    rows.push(row('Redis + MiniSearch', await measureRetrieval(store, slugOf)));
  } finally {
    client.disconnect();
    await redis.stop();
  }
  return rows;
}

/**
 * What embeddings add, measured offline: the same labelled set with the mock upstream's
 * embeddings (hashed character trigrams, not a real model's) fused in by reciprocal rank. It shows
 * the mechanism working end to end through the real SDK; a real model's gain is measured the same
 * way against a real upstream (set OPENAI_API_KEY and CHATDROP_EMBEDDINGS_MODEL).
 */
async function embeddingsRow(pages: IndexedPage[], slugOf: (url: string) => string, bm25Recall: number): Promise<Measured> {
  const { startMockUpstream } = await import('../server/src/test/mock-upstream.js');
  const { parseConfig } = await import('../server/src/config.js');
  const { createUpstreamClient } = await import('../server/src/upstream/upstream-client.js');
  const { Embedder } = await import('../server/src/knowledge/embedder.js');
  const { SqliteKnowledgeStore } = await import('../server/src/knowledge/sqlite-knowledge-store.js');
  const { measureRetrieval } = await import('../server/src/knowledge/retrieval-quality.js');
  const mock = await startMockUpstream();
  try {
    const openai = createUpstreamClient(parseConfig({ OPENAI_API_KEY: 'bench', OPENAI_BASE_URL: mock.baseUrl, CHATDROP_UPSTREAM_RETRIES: '0' }));
    const embedder = new Embedder({ openai, model: 'mock-trigrams' });
    const embeddings = new Map<string, Float32Array[]>();
    for (const page of pages) embeddings.set(page.url, await embedder.embed(page.passages.map((p) => `${p.title}\n${p.heading}\n${p.text}`)));
    const store = new SqliteKnowledgeStore({ path: ':memory:' });
    await store.commit({ fetched: pages, keep: [], embeddings, record: { startedAt: '', endedAt: '', sourcesKey: 'bench', fetched: pages.length, unchanged: 0, removed: 0, failures: {} } });
    const quality = await measureRetrieval(store, slugOf, embedder.vectors(store));
    await store.close();
    return measured({
      figure: `knowledge: recall@3 with embeddings fused (mock trigram embeddings), ${quality.answerable} questions`,
      unit: '',
      value: round(quality.recallAt3, 3),
      baseline: 'BM25 alone',
      baselineValue: round(bm25Recall, 3),
      note: `off-topic questions given no passage: ${quality.offTopicEmpty}/${quality.offTopic}; the mock's vectors are character trigrams, not a model's`,
    });
  } finally {
    await mock.close();
  }
}
