import type Database from 'better-sqlite3';
import { openSqlite } from '../store/open-sqlite.js';
import { indexTerms } from './tokenize.js';
import { selectiveTerms, type CrawlRecord, type IndexUpdate, type KnowledgeStore, type PageMeta, type SearchHits, type StoredPassage } from './knowledge-store.js';

interface PassageRow {
  id: number;
  url: string;
  title: string;
  heading: string;
  text: string;
  tokens: number;
  terms: string;
  embedding: Buffer | null;
}

interface PageRow {
  url: string;
  title: string;
  etag: string | null;
  last_modified: string | null;
  links: string;
  hash: string;
  passages: number;
  redirected_from: string;
}

/**
 * The knowledge index in the SQLite file of the conversations (`CHATDROP_DB`), on its own
 * connection: pages and passages in tables, BM25 by FTS5 (built into better-sqlite3's SQLite).
 * A commit is one transaction, so a question asked during a refresh sees the old index or the
 * new one. A restart finds the index where it was: nothing to crawl before answering.
 */
export class SqliteKnowledgeStore implements KnowledgeStore {
  readonly #db: Database.Database;
  readonly #sql;
  readonly #commit;
  /** Every embedded passage, read once per index (a commit forgets it). */
  #embedded: StoredPassage[] | undefined;
  /**
   * Passages, their average length in terms, and every term's passage count, read once per index
   * (a commit forgets them): fts5vocab answers a lookup by scanning, which a question cannot afford.
   */
  #stats: { total: number; averageLength: number; documentFrequency: Map<string, number> } | undefined;

  constructor(options: { path: string; now?: () => number }) {
    const now = options.now ?? Date.now;
    const db = openSqlite(options.path);
    this.#db = db;
    this.#sql = {
      anyPage: db.prepare<[], 1>('SELECT 1 FROM knowledge_pages LIMIT 1').pluck(),
      pages: db.prepare<[], PageRow>(
        `SELECT p.url, p.title, p.etag, p.last_modified, p.links, p.hash, p.redirected_from,
                (SELECT count(*) FROM knowledge_passages s WHERE s.url = p.url) AS passages
         FROM knowledge_pages p`,
      ),
      pageHash: db.prepare<[string], string>('SELECT hash FROM knowledge_pages WHERE url = ?').pluck(),
      allUrls: db.prepare<[], string>('SELECT url FROM knowledge_pages').pluck(),
      upsertPage: db.prepare<[string, string, string | null, string | null, string, string, number]>(
        `INSERT INTO knowledge_pages (url, title, etag, last_modified, links, hash, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (url) DO UPDATE SET title = excluded.title, etag = excluded.etag, last_modified = excluded.last_modified,
           links = excluded.links, hash = excluded.hash, indexed_at = excluded.indexed_at`,
      ),
      updateValidators: db.prepare<[string | null, string | null, string, string]>(
        'UPDATE knowledge_pages SET etag = ?, last_modified = ?, links = ? WHERE url = ?',
      ),
      setRedirectedFrom: db.prepare<[string, string]>('UPDATE knowledge_pages SET redirected_from = ? WHERE url = ?'),
      deleteFts: db.prepare<[string]>('DELETE FROM knowledge_fts WHERE rowid IN (SELECT id FROM knowledge_passages WHERE url = ?)'),
      deletePassages: db.prepare<[string]>('DELETE FROM knowledge_passages WHERE url = ?'),
      deletePage: db.prepare<[string]>('DELETE FROM knowledge_pages WHERE url = ?'),
      insertPassage: db.prepare<[string, number, string, string, number, string, Buffer | null]>(
        'INSERT INTO knowledge_passages (url, position, heading, text, tokens, terms, embedding) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertFts: db.prepare<[number | bigint, string]>('INSERT INTO knowledge_fts (rowid, terms) VALUES (?, ?)'),
      count: db.prepare<[], number>('SELECT count(*) FROM knowledge_passages').pluck(),
      vocabulary: db.prepare<[], [string, number]>('SELECT term, doc FROM knowledge_vocab').raw(),
      stats: db.prepare<[], { total: number; length: number | null }>(
        "SELECT count(*) AS total, avg(length(terms) - length(replace(terms, ' ', '')) + 1) AS length FROM knowledge_passages",
      ),
      search: db.prepare<[string, number], PassageRow>(
        `SELECT s.id, s.url, p.title, s.heading, s.text, s.tokens, s.terms, s.embedding
         FROM (SELECT rowid, bm25(knowledge_fts) AS score FROM knowledge_fts WHERE knowledge_fts MATCH ? ORDER BY score LIMIT ?) AS hit
         JOIN knowledge_passages s ON s.id = hit.rowid JOIN knowledge_pages p ON p.url = s.url
         ORDER BY hit.score`,
      ),
      embedded: db.prepare<[], PassageRow>(
        `SELECT s.id, s.url, p.title, s.heading, s.text, s.tokens, s.terms, s.embedding
         FROM knowledge_passages s JOIN knowledge_pages p ON p.url = s.url WHERE s.embedding IS NOT NULL ORDER BY s.id`,
      ),
      getMeta: db.prepare<[string], string>('SELECT value FROM knowledge_meta WHERE key = ?').pluck(),
      setMeta: db.prepare<[string, string]>(
        'INSERT INTO knowledge_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
    };
    const sql = this.#sql;
    this.#commit = db.transaction((update: IndexUpdate): void => {
      const keep = new Set(update.keep);
      const fetched = new Map(update.fetched.map((page) => [page.url, page]));
      for (const url of sql.allUrls.all()) {
        if (!keep.has(url) && !fetched.has(url)) {
          sql.deleteFts.run(url);
          sql.deletePage.run(url); // its passages go by ON DELETE CASCADE
        }
      }
      const at = now();
      for (const page of fetched.values()) {
        const embeddings = update.embeddings?.get(page.url);
        if (sql.pageHash.get(page.url) === page.hash && embeddings === undefined) {
          // Same text: only the validators change; the passages (and their embeddings) stay.
          sql.updateValidators.run(page.etag ?? null, page.lastModified ?? null, JSON.stringify(page.links), page.url);
          continue;
        }
        sql.deleteFts.run(page.url);
        sql.deletePassages.run(page.url);
        sql.upsertPage.run(page.url, page.title, page.etag ?? null, page.lastModified ?? null, JSON.stringify(page.links), page.hash, at);
        for (const [i, passage] of page.passages.entries()) {
          const terms = indexTerms(passage.title, passage.heading, passage.text);
          const vector = embeddings?.[i];
          const blob = vector === undefined ? null : Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
          const { lastInsertRowid } = sql.insertPassage.run(page.url, passage.position, passage.heading, passage.text, passage.tokens, terms, blob);
          sql.insertFts.run(lastInsertRowid, terms);
        }
      }
      for (const url of [...keep, ...fetched.keys()]) sql.setRedirectedFrom.run(JSON.stringify(update.redirectedFrom?.get(url) ?? []), url);
      sql.setMeta.run('last-crawl', JSON.stringify(update.record));
    });
  }

  async hasIndex(): Promise<boolean> {
    return this.#sql.anyPage.get() !== undefined;
  }

  async pages(): Promise<Map<string, PageMeta>> {
    const out = new Map<string, PageMeta>();
    for (const row of this.#sql.pages.all()) {
      out.set(row.url, {
        url: row.url,
        title: row.title,
        etag: row.etag ?? undefined,
        lastModified: row.last_modified ?? undefined,
        links: JSON.parse(row.links) as string[],
        hash: row.hash,
        passages: row.passages,
        redirectedFrom: JSON.parse(row.redirected_from) as string[],
      });
    }
    return out;
  }

  async commit(update: IndexUpdate): Promise<void> {
    this.#commit(update);
    this.#embedded = undefined;
    this.#stats = undefined;
  }

  async search(query: readonly string[], limit: number): Promise<SearchHits> {
    if (this.#stats === undefined) {
      const row = this.#sql.stats.get();
      this.#stats = { total: row?.total ?? 0, averageLength: row?.length ?? 0, documentFrequency: new Map(this.#sql.vocabulary.all()) };
    }
    const { total, averageLength } = this.#stats;
    const distinct = [...new Set(query)];
    const documentFrequency = new Map<string, number>();
    for (const term of distinct) {
      const n = this.#stats.documentFrequency.get(term);
      if (n !== undefined) documentFrequency.set(term, n);
    }
    const selective = selectiveTerms(distinct, documentFrequency, total);
    if (selective.length === 0) return { total, averageLength, documentFrequency, passages: [] };
    // Terms are letters and digits only (tokenize.ts), so quoting cannot be broken out of.
    const quoted = selective.map((term) => `"${term}"`);
    // Passages holding every term first: an intersection is cheap and BM25 then scores few rows.
    // Only when they are too few does the OR query score every passage holding any term.
    const passages = quoted.length > 1 ? this.#sql.search.all(quoted.join(' AND '), limit) : [];
    if (passages.length < limit / 2) {
      const seen = new Set(passages.map((p) => p.id));
      for (const row of this.#sql.search.all(quoted.join(' OR '), limit)) if (!seen.has(row.id) && passages.length < limit) passages.push(row);
    }
    return { total, averageLength, documentFrequency, passages: passages.map(toPassage) };
  }

  async embedded(): Promise<StoredPassage[]> {
    this.#embedded ??= this.#sql.embedded.all().map(toPassage);
    return this.#embedded;
  }

  async lastCrawl(): Promise<CrawlRecord | undefined> {
    const value = this.#sql.getMeta.get('last-crawl');
    return value === undefined ? undefined : (JSON.parse(value) as CrawlRecord);
  }

  async lock(): Promise<boolean> {
    return true; // one process per SQLite file; the crawler itself runs one crawl at a time
  }

  async unlock(): Promise<void> {}

  async ping(): Promise<boolean> {
    try {
      this.#sql.count.get();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function toPassage(row: PassageRow): StoredPassage {
  const passage: StoredPassage = { id: row.id, url: row.url, title: row.title, heading: row.heading, text: row.text, tokens: row.tokens, terms: row.terms };
  if (row.embedding !== null) {
    const copy = new Uint8Array(row.embedding); // aligned copy
    passage.embedding = new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return passage;
}
