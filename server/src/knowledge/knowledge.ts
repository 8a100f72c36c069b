import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { crawl, type CrawlLimits, type FailureReason } from './crawl.js';
import type { Embedder } from './embedder.js';
import { ExtractPool, type ExtractPoolOptions } from './extract-pool.js';
import type { CrawlRecord, KnowledgeStore, StoredPassage } from './knowledge-store.js';
import { describeSource, type KnowledgeSource } from './knowledge-source.js';
import { retrieve, type RetrievalInput, type VectorSide } from './retrieve.js';

export interface KnowledgeOptions {
  sources: readonly KnowledgeSource[];
  store: KnowledgeStore;
  log: Logger;
  /** `CHATDROP_KNOWLEDGE_REFRESH_HOURS`, in ms. */
  refreshMs: number;
  limits?: Partial<CrawlLimits>;
  /** Set with `CHATDROP_EMBEDDINGS_MODEL`: passages and questions get vectors too. */
  embedder?: Embedder;
  /** Worker threads and time limit of HTML extraction (`CHATDROP_KNOWLEDGE_WORKERS`, `..._EXTRACT_TIMEOUT_MS`). */
  extraction?: ExtractPoolOptions;
  now?: () => number;
}

/** What the support inbox shows about the knowledge (`Knowledge.status()`). */
export interface KnowledgeStatus {
  /** True once an index exists: answers are grounded from then on. */
  ready: boolean;
  /** A crawl is running on this instance. */
  crawling: boolean;
  sources: string[];
  pages: number;
  passages: number;
  lastCrawl: CrawlRecord | undefined;
  /** When the next refresh is due (ISO 8601), once there has been a crawl. */
  nextCrawlAt: string | undefined;
}

/** How long a crawl holds the lock without renewing it (it renews every third of this). */
const LEASE_MS = 5 * 60 * 1000;
/** How often an instance looks whether a refresh is due, or (without an index) whether one appeared. */
const TICK_MS = 60 * 1000;
const WAITING_TICK_MS = 2 * 1000;

/**
 * The site's knowledge: keeps the index built and fresh, and finds the passages for a question.
 *
 * At start an index already in the store is used at once (`ready`); a crawl runs when there is
 * none, when the sources changed, or when the last one is older than the refresh period, and
 * again every period after. On Redis one instance crawls at a time (a lease in the store, renewed
 * while it runs); the others see the new index when it is committed. Failures are logged once per
 * URL by the crawler's report; the summary of each crawl is one log line and `status()`.
 */
export class Knowledge {
  readonly #o: KnowledgeOptions;
  readonly #now: () => number;
  readonly #holder = randomBytes(9).toString('base64url');
  readonly #sourcesKey: string;
  #ready = false;
  #crawling: Promise<CrawlRecord | undefined> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #abort = new AbortController();
  /** Pages are extracted off the event loop that streams the replies (workers only while crawling). */
  readonly #extractor: ExtractPool;

  constructor(options: KnowledgeOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#extractor = new ExtractPool(options.extraction);
    const key = [...options.sources.map(describeSource), `embeddings ${options.embedder?.model ?? 'none'}`].join('\n');
    this.#sourcesKey = createHash('sha256').update(key).digest('base64url').slice(0, 22);
  }

  /** True once there is an index to answer from (`/readyz`). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Looks at the store, crawls when needed, and keeps looking every so often. Never throws. */
  start(): void {
    void this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    try {
      if (!this.#ready && (await this.#o.store.hasIndex())) {
        this.#ready = true;
        this.#o.log.info({ knowledge: await this.#counts() }, 'knowledge index ready (from the store)');
      }
      if (await this.#due()) await this.crawlNow();
    } catch (error) {
      this.#o.log.error({ err: error }, 'knowledge: could not check or refresh the index');
    }
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#ready ? Math.min(TICK_MS, this.#o.refreshMs) : WAITING_TICK_MS);
    this.#timer.unref();
  }

  async #due(): Promise<boolean> {
    const last = await this.#o.store.lastCrawl();
    if (last === undefined || last.sourcesKey !== this.#sourcesKey) return true;
    return Date.parse(last.endedAt) + this.#o.refreshMs <= this.#now();
  }

  /**
   * Crawls every source now and commits the new index, unless another instance holds the crawl
   * lock (then answers undefined). One crawl at a time on this instance too.
   */
  crawlNow(): Promise<CrawlRecord | undefined> {
    this.#crawling ??= this.#crawl().finally(() => (this.#crawling = undefined));
    return this.#crawling;
  }

  async #crawl(): Promise<CrawlRecord | undefined> {
    const { store, log } = this.#o;
    if (!(await store.lock(this.#holder, LEASE_MS))) return undefined;
    const renew = setInterval(() => void store.lock(this.#holder, LEASE_MS).catch(() => {}), LEASE_MS / 3);
    renew.unref();
    try {
      // Another instance may have just finished: its index is fresh, nothing to do.
      if (!(await this.#due())) return undefined;
      const startedAt = this.#now();
      log.info({ sources: this.#o.sources.map(describeSource) }, 'knowledge: crawl started');
      const known = await store.pages();
      // New sources or another embeddings model: every page is fetched again in full (no
      // conditional requests), so every passage is indexed, and embedded, the new way.
      const fresh = (await store.lastCrawl())?.sourcesKey !== this.#sourcesKey;
      const result = await crawl(this.#o.sources, {
        known: fresh ? new Map() : known,
        limits: this.#o.limits,
        signal: this.#abort.signal,
        extractHtml: (html, url) => this.#extractor.extract(html, url),
        onFailure: (failure) => log.warn({ url: failure.url, reason: failure.reason, detail: failure.detail }, 'knowledge: page not indexed'),
      });
      if (this.#abort.signal.aborted) return undefined;
      const gone = new Set(result.gone);
      const keep = fresh ? [] : [...new Set(result.kept)].filter((url) => !gone.has(url) && known.has(url));
      const fetched = [...new Map(result.fetched.map((page) => [page.url, page])).values()];
      const embeddings = await this.#embed(fetched.filter((page) => fresh || known.get(page.url)?.hash !== page.hash));
      const failures: Partial<Record<FailureReason, number>> = {};
      for (const failure of result.failures) failures[failure.reason] = (failures[failure.reason] ?? 0) + 1;
      for (const [reason, count] of Object.entries(result.unlisted) as [FailureReason, number][]) failures[reason] = (failures[reason] ?? 0) + count;
      if (Object.keys(result.unlisted).length > 0) log.warn({ unlisted: result.unlisted }, 'knowledge: more URLs not indexed, counted but not listed one by one');
      const kept = new Set([...keep, ...fetched.map((p) => p.url)]);
      const record: CrawlRecord = {
        startedAt: new Date(startedAt).toISOString(),
        endedAt: new Date(this.#now()).toISOString(),
        sourcesKey: this.#sourcesKey,
        fetched: fetched.length,
        unchanged: keep.length,
        removed: [...known.keys()].filter((url) => !kept.has(url)).length,
        failures,
      };
      await store.commit({ fetched, keep, embeddings, redirectedFrom: result.redirectedFrom, record });
      const counts = await this.#counts();
      log.info({ ...record, ...counts, durationMs: this.#now() - startedAt }, 'knowledge: index updated');
      if (counts.pages === 0) log.warn('knowledge: the index is empty; answers will say the help pages do not cover the question');
      // An empty first crawl still counts as built: /readyz must not hold a site with no pages forever.
      this.#ready = true;
      return record;
    } finally {
      clearInterval(renew);
      await store.unlock(this.#holder).catch(() => {});
    }
  }

  async #embed(pages: { url: string; passages: { title: string; heading: string; text: string }[] }[]): Promise<Map<string, Float32Array[]> | undefined> {
    const embedder = this.#o.embedder;
    if (embedder === undefined || pages.length === 0) return undefined;
    const out = new Map<string, Float32Array[]>();
    try {
      for (const page of pages) {
        out.set(page.url, await embedder.embed(page.passages.map((p) => `${p.title}\n${p.heading}\n${p.text}`)));
      }
      return out;
    } catch (error) {
      // (Its detail only: an embeddings failure is an UpstreamError, clipped and redacted.)
      this.#o.log.error({ detail: (error as { detail?: string }).detail ?? String(error) }, 'knowledge: embeddings failed; this crawl indexes for full-text search only');
      return undefined;
    }
  }

  /** The passages for a question, best first; empty when nothing is relevant enough. */
  async retrieve(input: RetrievalInput): Promise<StoredPassage[]> {
    const vectors: VectorSide | undefined = this.#o.embedder?.vectors(this.#o.store);
    return retrieve(this.#o.store, input, { vectors });
  }

  /** Pages, passages, last crawl and failures by reason: what the support inbox shows. */
  async status(): Promise<KnowledgeStatus> {
    const last = await this.#o.store.lastCrawl();
    return {
      ready: this.#ready,
      crawling: this.#crawling !== undefined,
      sources: this.#o.sources.map(describeSource),
      ...(await this.#counts()),
      lastCrawl: last,
      nextCrawlAt: last === undefined ? undefined : new Date(Date.parse(last.endedAt) + this.#o.refreshMs).toISOString(),
    };
  }

  async #counts(): Promise<{ pages: number; passages: number }> {
    const pages = await this.#o.store.pages();
    let passages = 0;
    for (const page of pages.values()) passages += page.passages;
    return { pages: pages.size, passages };
  }

  /** Stops the timer and any crawl (what it fetched so far is not committed), and the extraction workers. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    // A page being extracted is given up at once: the crawl is not committed anyway.
    await Promise.all([this.#crawling?.catch(() => undefined), this.#extractor.close()]);
  }
}
