import type { Redis } from 'ioredis';
import MiniSearch from 'minisearch';
import { indexTerms } from './tokenize.js';
import type { IndexedPage } from './crawl.js';
import { selectiveTerms, type CrawlRecord, type IndexUpdate, type KnowledgeStore, type PageMeta, type SearchHits, type StoredPassage } from './knowledge-store.js';

export interface RedisKnowledgeStoreOptions {
  /** The instance's Redis command connection (not owned: closing the store leaves it open). */
  redis: Redis;
  keyPrefix?: string;
  /** How long an answer may come from a version another instance has replaced (default 1 s). */
  checkEveryMs?: number;
}

/** A page as one JSON value of the snapshot hash. */
interface StoredPage extends Omit<IndexedPage, 'passages'> {
  passages: { heading: string; text: string; position: number; tokens: number; terms: string; embedding?: string }[];
  /** Absent in snapshots written before pages remembered their redirects: none. */
  redirectedFrom?: string[];
}

interface Snapshot {
  version: string;
  pages: Map<string, StoredPage>;
  passages: StoredPassage[];
  search: MiniSearch<{ id: number; terms: string }>;
  documentFrequency: Map<string, number>;
  averageLength: number;
}

/** A replaced snapshot stays this long for instances still loading it. */
const OLD_VERSION_TTL_MS = 10 * 60 * 1000;
/** A snapshot being written expires unless it is published (a crawl that died half-way). */
const UNPUBLISHED_TTL_MS = 60 * 60 * 1000;
const BATCH = 200;

const LOCK = `
local holder = redis.call('GET', KEYS[1])
if holder == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
`;
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * The knowledge index shared by several instances through Redis. Each crawl writes a whole new
 * snapshot (one hash: URL -> page JSON with its passages and terms) and then publishes it by
 * setting the version key, in one MULTI with the crawl record; the old snapshot expires a few
 * minutes later. Every instance looks at the version key at most every `checkEveryMs` before
 * answering and, when it changed, loads the new snapshot and ranks it in memory with MiniSearch
 * (BM25, on the same terms as the SQLite backend), so all instances answer from the same version
 * within about a second of its publication.
 *
 * One crawl at a time across instances: a lock key with a lease (`SET NX PX`), renewed by its
 * holder while it crawls and released only by it (Lua compare-and-delete), so a crashed crawler's
 * lock lapses by itself.
 */
export class RedisKnowledgeStore implements KnowledgeStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #checkEveryMs: number;
  #snapshot: Snapshot | undefined;
  #checkedAt = -Infinity;
  #loading: Promise<Snapshot | undefined> | undefined;

  constructor(options: RedisKnowledgeStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.keyPrefix ?? 'chatdrop:'}knowledge:`;
    this.#checkEveryMs = options.checkEveryMs ?? 1_000;
  }

  async hasIndex(): Promise<boolean> {
    return (await this.#redis.exists(this.#key('version'))) === 1;
  }

  async pages(): Promise<Map<string, PageMeta>> {
    const snapshot = await this.#current();
    const out = new Map<string, PageMeta>();
    for (const page of snapshot?.pages.values() ?? []) {
      out.set(page.url, {
        url: page.url,
        title: page.title,
        etag: page.etag,
        lastModified: page.lastModified,
        links: page.links,
        hash: page.hash,
        passages: page.passages.length,
        redirectedFrom: page.redirectedFrom ?? [],
      });
    }
    return out;
  }

  async commit(update: IndexUpdate): Promise<void> {
    const redis = this.#redis;
    const old = await this.#current(true);
    const version = String(await redis.incr(this.#key('next-version')));
    const target = this.#key(`pages:${version}`);
    const entries: [string, string][] = [];
    for (const url of update.keep) {
      const page = old?.pages.get(url);
      if (page !== undefined) entries.push([url, JSON.stringify({ ...page, redirectedFrom: [...(update.redirectedFrom?.get(url) ?? [])] })]);
    }
    for (const page of update.fetched) {
      const embeddings = update.embeddings?.get(page.url);
      const before = old?.pages.get(page.url);
      // Same text: keep the stored passages (and their embeddings), new validators and links.
      const passages =
        before !== undefined && before.hash === page.hash && embeddings === undefined
          ? before.passages
          : page.passages.map((p, i) => ({
              heading: p.heading,
              text: p.text,
              position: p.position,
              tokens: p.tokens,
              terms: indexTerms(p.title, p.heading, p.text),
              ...(embeddings?.[i] === undefined ? {} : { embedding: toBase64(embeddings[i] as Float32Array) }),
            }));
      const redirectedFrom = [...(update.redirectedFrom?.get(page.url) ?? [])];
      const stored: StoredPage = { url: page.url, title: page.title, etag: page.etag, lastModified: page.lastModified, links: page.links, hash: page.hash, passages, redirectedFrom };
      entries.push([page.url, JSON.stringify(stored)]);
    }
    for (let at = 0; at < entries.length; at += BATCH) {
      await redis.multi().hset(target, Object.fromEntries(entries.slice(at, at + BATCH))).pexpire(target, UNPUBLISHED_TTL_MS).exec();
    }
    const publish = redis.multi();
    if (entries.length > 0) publish.persist(target);
    publish.set(this.#key('version'), version).set(this.#key('last-crawl'), JSON.stringify(update.record));
    if (old !== undefined) publish.pexpire(this.#key(`pages:${old.version}`), OLD_VERSION_TTL_MS);
    const results = await publish.exec();
    for (const [error] of results ?? []) if (error) throw error;
    this.#checkedAt = -Infinity; // read the new version at the next question
  }

  async search(query: readonly string[], limit: number): Promise<SearchHits> {
    const snapshot = await this.#current();
    const documentFrequency = new Map<string, number>();
    if (snapshot === undefined) return { total: 0, averageLength: 0, documentFrequency, passages: [] };
    const { averageLength } = snapshot;
    const total = snapshot.passages.length;
    for (const term of new Set(query)) {
      const n = snapshot.documentFrequency.get(term);
      if (n !== undefined) documentFrequency.set(term, n);
    }
    const selective = selectiveTerms(query, documentFrequency, total);
    if (selective.length === 0) return { total, averageLength, documentFrequency, passages: [] };
    // MiniSearch multiplies a score by the number of distinct terms matched; divided back out,
    // it is the plain BM25 sum FTS5 computes, so both backends pick alike.
    // As on SQLite: passages holding every term first, then, when too few, those holding any.
    const ranked = (combineWith: 'AND' | 'OR') =>
      snapshot.search
        .search(selective.join(' '), { combineWith })
        .map((r) => ({ id: r.id as number, score: r.score / Math.max(1, r.terms.length) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, limit);
    const ids = selective.length > 1 ? ranked('AND').map((r) => r.id) : [];
    if (ids.length < limit / 2) for (const r of ranked('OR')) if (!ids.includes(r.id) && ids.length < limit) ids.push(r.id);
    const passages = ids.map((id) => snapshot.passages[id] as StoredPassage);
    return { total, averageLength, documentFrequency, passages };
  }

  async embedded(): Promise<StoredPassage[]> {
    const snapshot = await this.#current();
    return snapshot?.passages.filter((p) => p.embedding !== undefined) ?? [];
  }

  async lastCrawl(): Promise<CrawlRecord | undefined> {
    const value = await this.#redis.get(this.#key('last-crawl'));
    return value === null ? undefined : (JSON.parse(value) as CrawlRecord);
  }

  async lock(holder: string, ms: number): Promise<boolean> {
    return (await this.#redis.eval(LOCK, 1, this.#key('lock'), holder, ms)) === 1;
  }

  async unlock(holder: string): Promise<void> {
    await this.#redis.eval(UNLOCK, 1, this.#key('lock'), holder);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.#redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.#snapshot = undefined;
  }

  /** The published snapshot, loaded when its version changed (checked at most every `checkEveryMs`). */
  async #current(force = false): Promise<Snapshot | undefined> {
    const now = Date.now();
    if (!force && this.#snapshot !== undefined && now - this.#checkedAt < this.#checkEveryMs) return this.#snapshot;
    this.#loading ??= this.#load().finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async #load(): Promise<Snapshot | undefined> {
    const version = await this.#redis.get(this.#key('version'));
    this.#checkedAt = Date.now();
    if (version === null) return undefined;
    if (this.#snapshot?.version === version) return this.#snapshot;
    const pages = new Map<string, StoredPage>();
    const key = this.#key(`pages:${version}`);
    let cursor = '0';
    do {
      const [next, flat] = await this.#redis.hscan(key, cursor, 'COUNT', BATCH);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) pages.set(flat[i] as string, JSON.parse(flat[i + 1] as string) as StoredPage);
    } while (cursor !== '0');
    this.#snapshot = await build(version, pages);
    return this.#snapshot;
  }

  #key(name: string): string {
    return `${this.#prefix}${name}`;
  }
}

/**
 * The in-memory index of a snapshot. Built in batches with a yield between them, so loading ten
 * thousand passages never holds the event loop (and the streams on it) for long.
 */
async function build(version: string, pages: Map<string, StoredPage>): Promise<Snapshot> {
  const passages: StoredPassage[] = [];
  const documentFrequency = new Map<string, number>();
  for (const page of [...pages.values()].sort((a, b) => (a.url < b.url ? -1 : 1))) {
    for (const p of page.passages) {
      const passage: StoredPassage = { id: passages.length, url: page.url, title: page.title, heading: p.heading, text: p.text, tokens: p.tokens, terms: p.terms };
      if (p.embedding !== undefined) passage.embedding = fromBase64(p.embedding);
      passages.push(passage);
      for (const term of new Set(p.terms.split(' '))) if (term !== '') documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
    }
  }
  const search = new MiniSearch<{ id: number; terms: string }>({
    fields: ['terms'],
    // The terms are tokenize.ts's already: split on the spaces, nothing more.
    tokenize: (text) => text.split(' '),
    processTerm: (term) => (term === '' ? null : term),
    searchOptions: { combineWith: 'OR', bm25: { k: 1.2, b: 0.75, d: 0 } },
  });
  for (let at = 0; at < passages.length; at += 500) {
    search.addAll(passages.slice(at, at + 500).map((p) => ({ id: p.id, terms: p.terms })));
    if (at + 500 < passages.length) await new Promise((resolve) => setImmediate(resolve));
  }
  let length = 0;
  for (const p of passages) length += p.terms === '' ? 0 : p.terms.split(' ').length;
  return { version, pages, passages, search, documentFrequency, averageLength: passages.length === 0 ? 0 : length / passages.length };
}

function toBase64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

function fromBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const copy = new Uint8Array(bytes); // aligned
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
