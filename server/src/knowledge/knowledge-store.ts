import type { FailureReason, IndexedPage } from './crawl.js';

/** A passage as the index returns it, with what retrieval and the prompt need. */
export interface StoredPassage {
  id: number;
  url: string;
  title: string;
  heading: string;
  text: string;
  /** o200k tokens of `text`. */
  tokens: number;
  /** Its search terms (tokenize.ts), space-separated, for judging how well it covers a question. */
  terms: string;
  /** Its embedding, when `CHATDROP_EMBEDDINGS_MODEL` is set. */
  embedding?: Float32Array;
}

/** What a page of the index is, without its passages: for conditional requests and the status. */
export type PageMeta = Pick<IndexedPage, 'url' | 'title' | 'etag' | 'lastModified' | 'links' | 'hash'> & {
  passages: number;
  /** The URLs that redirected to this page in the crawl that last fetched or kept it. */
  redirectedFrom: string[];
};

/** The outcome of the last crawl, kept with the index (what the support inbox shows). */
export interface CrawlRecord {
  startedAt: string;
  endedAt: string;
  /** What the sources were, so a changed `CHATDROP_KNOWLEDGE` crawls again at start. */
  sourcesKey: string;
  fetched: number;
  unchanged: number;
  removed: number;
  failures: Partial<Record<FailureReason, number>>;
}

export interface SearchHits {
  /** Passages in the whole index. */
  total: number;
  /** In how many passages each distinct query term occurs. */
  documentFrequency: Map<string, number>;
  /** Terms per passage on average (BM25's length normalisation). */
  averageLength: number;
  /** Candidates by BM25 over the query's rarer terms, best first (retrieve.ts ranks them finally). */
  passages: StoredPassage[];
}

export interface IndexUpdate {
  /** Pages fetched this time: added, or replacing the stored page of the same URL. */
  fetched: IndexedPage[];
  /** Stored pages to keep as they are (answered 304, or failed for a passing reason). */
  keep: string[];
  /** Embeddings of the fetched pages' passages, in order, per URL (when embeddings are on). */
  embeddings?: Map<string, Float32Array[]>;
  /**
   * The URLs that redirected to each page, by the page's URL: what every page of the new index,
   * fetched or kept, remembers from now on (a page not named here: none).
   */
  redirectedFrom?: ReadonlyMap<string, readonly string[]>;
  record: CrawlRecord;
}

/**
 * The knowledge index, kept in the conversation store's backend so a restart answers at once and
 * several instances answer from one index. One interface, one file per backend
 * (`sqlite-knowledge-store.ts`: tables and FTS5; `redis-knowledge-store.ts`: versioned snapshots
 * in Redis, ranked in memory), one shared suite (`knowledge-store.suite.ts`).
 */
export interface KnowledgeStore {
  /** True once an index has been committed (by this instance or, on Redis, by another). */
  hasIndex(): Promise<boolean>;
  /** Every page of the index, by URL. */
  pages(): Promise<Map<string, PageMeta>>;
  /**
   * Makes the index exactly: the fetched pages, the kept ones, nothing else. Readers see the old
   * index or the new one, never a mix.
   */
  commit(update: IndexUpdate): Promise<void>;
  /**
   * Candidates for `query` (distinct terms), by BM25 over its terms that occur in at most
   * `COMMON_SHARE` of the passages (all of them when none is that rare): a term found nearly
   * everywhere adds little to a score and most of the work, so it only counts in the final
   * ranking, not in finding candidates.
   */
  search(query: readonly string[], limit: number): Promise<SearchHits>;
  /** Every passage with an embedding (for the vector side of retrieval); empty when there are none. */
  embedded(): Promise<StoredPassage[]>;
  /** The last crawl's record, if any. */
  lastCrawl(): Promise<CrawlRecord | undefined>;
  /**
   * One crawl at a time across instances: takes the lease for `ms` (true) unless another holder
   * has it. Taking it again as its holder extends it. SQLite has one instance: always true.
   */
  lock(holder: string, ms: number): Promise<boolean>;
  unlock(holder: string): Promise<void>;
  /** Whether the backend answers (for `/readyz`). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A term in more than this share of the passages does not select candidates (see `search`). */
export const COMMON_SHARE = 0.05;

/** At most this many terms select candidates: the rarest. */
const MAX_SELECTIVE = 4;

/** The terms that select candidates: the rarer ones (all when none is rare), rarest first. */
export function selectiveTerms(query: readonly string[], documentFrequency: Map<string, number>, total: number): string[] {
  const df = (t: string): number => documentFrequency.get(t) ?? 0;
  const present = [...new Set(query)].filter((t) => df(t) > 0).sort((a, b) => df(a) - df(b));
  const rare = present.filter((t) => df(t) <= Math.max(1, total * COMMON_SHARE));
  return (rare.length > 0 ? rare : present).slice(0, MAX_SELECTIVE);
}
