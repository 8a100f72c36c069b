import { createHash } from 'node:crypto';
import type { KnowledgeFailureReason } from '@chatdrop/shared';
import type { Passage } from './chunk.js';
import { chunk } from './chunk.js';
import { extractHtml, extractMarkdown, extractText, type ExtractedHtml, type ExtractedPage } from './extract.js';
import { fetchPage, type FetchLimits } from './fetch-page.js';
import type { KnowledgeSource } from './knowledge-source.js';
import { readFolder } from './read-folder.js';
import { readRobots } from './read-robots.js';
import type { Robots } from './robots.js';
import { parseSitemap } from './sitemap.js';

/** A page as the index keeps it. */
export interface IndexedPage {
  url: string;
  title: string;
  etag?: string;
  lastModified?: string;
  /** Same-origin links of a crawled page, so a refresh answered 304 still knows where to go next. */
  links: string[];
  /** Of the passages' text: equal hashes mean nothing to re-index. */
  hash: string;
  passages: Passage[];
}

/** Why a URL was not indexed; the status counts failures by these (the inbox shows them by name). */
export type FailureReason = KnowledgeFailureReason;

export interface CrawlFailure {
  url: string;
  reason: FailureReason;
  detail: string;
}

export interface CrawlLimits extends FetchLimits {
  maxPages: number;
  /** Requests running at once, across all origins. */
  concurrency: number;
  /** The least time between two requests to one origin (robots.txt `Crawl-delay` may ask more). */
  delayMs: number;
}

export const DEFAULT_LIMITS: CrawlLimits = {
  maxPages: 2_000,
  concurrency: 2,
  delayMs: 250,
  timeoutMs: 15_000,
  maxBytes: 2 * 1024 * 1024,
  userAgent: 'Chatdrop/1.0 (+https://github.com/chatdrop; knowledge crawler)',
};

/** The longest `Crawl-delay` we honour; a site asking more is crawled at this pace. */
const MAX_CRAWL_DELAY_MS = 10_000;
const MAX_REDIRECTS = 5;
const MAX_SITEMAP_DEPTH = 3;
/** Sitemaps may be larger than pages (the protocol allows 50 MB; we read up to this). */
const MAX_SITEMAP_BYTES = 10 * 1024 * 1024;
/** Failures listed (and logged) one by one per crawl; the rest are only counted. */
export const MAX_LISTED_FAILURES = 500;
/** Links to these are not pages. */
const NOT_A_PAGE = /\.(png|jpe?g|gif|webp|svg|ico|pdf|zip|gz|tgz|mp4|mp3|wav|woff2?|ttf|css|js|json|xml|rss|atom|exe|dmg)$/i;

export interface CrawlResult {
  /** Pages fetched and extracted this time (new or changed). */
  fetched: IndexedPage[];
  /** Known pages to keep as they are: answered 304, or failed for a passing reason. */
  kept: string[];
  /** Known pages the site says are gone (404/410). */
  gone: string[];
  /**
   * The URLs that redirected to each page this crawl (by the page's URL), to be stored with it:
   * a page is kept under the URL it ends at, and the next refresh, asking the first URL again,
   * still knows which page that URL stands for when it cannot reach it.
   */
  redirectedFrom: Map<string, string[]>;
  failures: CrawlFailure[];
  /**
   * Failures past the first `MAX_LISTED_FAILURES`, by reason: counted, not listed, logged or
   * remembered. A hostile site can link or list endless URLs (a calendar, a trap, sitemaps of other
   * hosts' pages), and each listed one costs memory and a log line.
   */
  unlisted: Partial<Record<FailureReason, number>>;
}

export interface CrawlOptions {
  /** The pages of the index so far, for conditional requests and to keep on a passing failure. */
  known: ReadonlyMap<string, Pick<IndexedPage, 'url' | 'etag' | 'lastModified' | 'links'> & { redirectedFrom?: readonly string[] }>;
  limits?: Partial<CrawlLimits>;
  /** Told once per URL that fails, as it happens. */
  onFailure?: (failure: CrawlFailure) => void;
  signal?: AbortSignal;
  /**
   * How an HTML page is extracted: `Knowledge` passes its `ExtractPool`, which runs `extractHtml`
   * in a worker thread within a time limit. Unset, `extractHtml` runs on this thread.
   */
  extractHtml?: (html: string, url: string) => Promise<ExtractedHtml>;
}

interface Job {
  url: string;
  kind: 'page' | 'sitemap';
  /** Only URLs on this origin (and, crawling from a page, under this path) may be fetched. */
  origin: string;
  scope: string;
  /** Follow the page's links (crawling from a page), or not (a sitemap's pages). */
  follow: boolean;
  depth: number;
}

/**
 * The polite, bounded crawler. Every source keeps to its own origin: a sitemap listing another
 * origin's pages, a link off the site, a redirect off it, all are refused (no request is made),
 * so configuration names every host the server will ever ask. robots.txt is read once per origin
 * for the `Chatdrop` user agent; at most `concurrency` requests run at once, and one origin gets
 * at most one request per `delayMs` (or its `Crawl-delay`). Pages are visited breadth first, up
 * to `maxPages` (sitemaps do not count). A failure is reported once with its URL and reason and
 * never stops the rest.
 */
export async function crawl(sources: readonly KnowledgeSource[], options: CrawlOptions): Promise<CrawlResult> {
  const limits: CrawlLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const result: CrawlResult = { fetched: [], kept: [], gone: [], redirectedFrom: new Map(), failures: [], unlisted: {} };
  const failed = new Set<string>();
  const fail = (url: string, reason: FailureReason, detail: string): void => {
    if (failed.has(url)) return;
    if (result.failures.length >= MAX_LISTED_FAILURES) {
      result.unlisted[reason] = (result.unlisted[reason] ?? 0) + 1;
      return;
    }
    failed.add(url);
    const failure = { url, reason, detail };
    result.failures.push(failure);
    options.onFailure?.(failure);
  };

  const seen = new Set<string>();
  const queue: Job[] = [];
  let pages = 0;
  const enqueue = (job: Job): void => {
    if (seen.has(job.url)) return;
    if (job.kind === 'page' && pages >= limits.maxPages) {
      // Remembered only while listed: endless links past the limit must not grow `seen` either.
      if (result.failures.length < MAX_LISTED_FAILURES) seen.add(job.url);
      fail(job.url, 'max-pages', `past CHATDROP_KNOWLEDGE_MAX_PAGES (${limits.maxPages})`);
      return;
    }
    seen.add(job.url);
    if (job.kind === 'page') pages++;
    queue.push(job);
  };

  for (const source of sources) {
    if (source.kind === 'folder') {
      const room = limits.maxPages - pages;
      const folder = await readFolder(source.path, source.baseUrl, { maxFiles: room, maxBytes: limits.maxBytes, onFailure: (url, reason, detail) => fail(url, reason, detail), extractHtml: options.extractHtml });
      for (const page of folder) {
        if (seen.has(page.url)) continue;
        seen.add(page.url);
        pages++;
        result.fetched.push(page);
      }
      continue;
    }
    const url = new URL(source.url);
    url.hash = '';
    const scope = source.kind === 'page' ? url.pathname.slice(0, url.pathname.lastIndexOf('/') + 1) : '/';
    enqueue({ url: url.href, kind: source.kind, origin: url.origin, scope, follow: source.kind === 'page', depth: 0 });
  }

  const robots = new Map<string, Promise<Robots>>();
  const nextSlot = new Map<string, number>();
  const robotsFor = (origin: string): Promise<Robots> => {
    let entry = robots.get(origin);
    if (entry === undefined) {
      entry = readRobots(origin, limits);
      robots.set(origin, entry);
    }
    return entry;
  };
  /** Waits for the origin's next free slot, so one site never sees two requests closer than its delay. */
  const politely = async (origin: string): Promise<void> => {
    const rules = await robotsFor(origin);
    const gap = Math.min(MAX_CRAWL_DELAY_MS, Math.max(limits.delayMs, (rules.crawlDelaySeconds ?? 0) * 1000));
    const now = Date.now();
    const at = Math.max(now, nextSlot.get(origin) ?? 0);
    nextSlot.set(origin, at + gap);
    if (at > now) await sleep(at - now, options.signal);
  };

  // Where each URL that redirected last time led, so a refresh that cannot reach it now (a server
  // error, robots.txt unreachable) still knows which stored page it stands for.
  const redirectedTo = new Map<string, string>();
  for (const page of options.known.values()) for (const from of page.redirectedFrom ?? []) redirectedTo.set(from, page.url);
  const storedFor = (url: string) => options.known.get(url) ?? options.known.get(redirectedTo.get(url) ?? '');
  const led = new Map<string, Set<string>>();
  const ledTo = (from: string, to: string): void => {
    const froms = led.get(to) ?? new Set<string>();
    led.set(to, froms.add(from));
  };
  /** Origins where something that lists pages (a sitemap, robots.txt) could not be read this time. */
  const unread = new Set<string>();
  /**
   * A passing failure (a server error, no answer, robots.txt unreachable, a sitemap that is not
   * one): the stored page `url` stands for stays, and a crawl from a page goes on along the links
   * it had, as after a 304. A sitemap that fails so hides the pages it lists: they stay too (see
   * the end of the crawl).
   */
  const passing = (job: Job, url: string): void => {
    if (job.kind === 'sitemap') {
      unread.add(job.origin);
      return;
    }
    const stored = storedFor(url);
    if (stored === undefined) return;
    result.kept.push(stored.url);
    if (stored.url !== job.url) ledTo(job.url, stored.url);
    if (job.follow) for (const link of stored.links) follow(job, link);
  };

  const visit = async (job: Job): Promise<void> => {
    // No page can be added any more: a sitemap (of an index listing thousands) is not worth asking for.
    if (job.kind === 'sitemap' && pages >= limits.maxPages) return;
    const rules = await robotsFor(job.origin);
    if (!rules.allows(pathOf(job.url))) {
      if (rules.unreachable !== undefined) {
        unread.add(job.origin);
        passing(job, job.url);
      }
      fail(job.url, 'robots', rules.unreachable ?? 'disallowed by robots.txt for Chatdrop');
      return;
    }
    let url = job.url;
    // This page's own redirects: a loop among them is too many redirects, not a page seen before.
    const chain = new Set([url]);
    let answer;
    for (let hops = 0; ; hops++) {
      await politely(job.origin);
      // Conditional with the validators of the page stored under this very URL: a page reached
      // through a redirect is stored under the URL it ends at, so that is where they are sent.
      const conditional = job.kind === 'page' ? options.known.get(url) : undefined;
      answer = await fetchPage(url, job.kind === 'sitemap' ? { ...limits, maxBytes: Math.max(limits.maxBytes, MAX_SITEMAP_BYTES) } : limits, { conditional, gunzip: job.kind === 'sitemap' });
      if (answer.kind !== 'redirect') break;
      const location = answer.location !== undefined && URL.canParse(answer.location, url) ? new URL(answer.location, url) : undefined;
      if (location === undefined) {
        fail(job.url, 'http-error', `redirect ${answer.status} without a usable Location`);
        return;
      }
      location.hash = '';
      if (location.origin !== job.origin) {
        fail(job.url, 'redirect-off-origin', `redirects to ${location.origin}, outside ${job.origin}`);
        return;
      }
      if (!rules.allows(pathOf(location.href))) {
        fail(job.url, 'robots', `redirects to ${location.pathname}, disallowed by robots.txt`);
        return;
      }
      if (hops >= MAX_REDIRECTS) {
        fail(job.url, 'too-many-redirects', `more than ${MAX_REDIRECTS} redirects`);
        return;
      }
      // A page is known by where its redirects lead: fetched once however many URLs lead to it,
      // and only where its source may reach (a link under /help/ is not led into /blog/; the
      // start page the operator named may go where it redirects).
      if (job.kind === 'page' && !chain.has(location.href)) {
        if (seen.has(location.href)) {
          ledTo(job.url, location.href);
          return;
        }
        if (job.depth > 0 && !sameScope(job, location.href)) {
          fail(job.url, 'redirect-off-origin', `redirects to ${location.pathname}, outside ${job.scope}`);
          return;
        }
        seen.add(location.href);
      }
      chain.add(location.href);
      url = location.href;
    }
    if (job.kind === 'page' && url !== job.url) ledTo(job.url, url);

    switch (answer.kind) {
      case 'not-modified':
        passing(job, url);
        return;
      case 'status':
        if (answer.status === 404 || answer.status === 410) {
          // Said of the URL asked: a page an old redirect led to may live on under its own URL.
          if (job.kind === 'page' && options.known.has(url)) result.gone.push(url);
          fail(job.url, 'gone', `HTTP ${answer.status}`);
        } else {
          // A server error may pass: a page we had stays until the site says it is gone.
          passing(job, url);
          fail(job.url, 'http-error', `HTTP ${answer.status}`);
        }
        return;
      case 'failed':
        passing(job, url);
        fail(job.url, answer.reason, answer.detail);
        return;
      case 'ok':
        break;
      default: {
        const unexpected: never = answer;
        throw new Error(`unexpected fetch result ${JSON.stringify(unexpected)}`);
      }
    }

    if (job.kind === 'sitemap') {
      readSitemap(job, answer.body, answer.contentType);
      return;
    }
    const type = answer.contentType.split(';')[0]?.trim() ?? '';
    let page: ExtractedPage;
    let links: string[] = [];
    try {
      if (type === 'text/html' || type === 'application/xhtml+xml') {
        const html = await (options.extractHtml ?? extractHtml)(answer.body, url);
        if (html.nofollow) html.links = [];
        links = html.links;
        if (job.follow) for (const link of links) follow(job, link);
        if (html.noindex) {
          fail(job.url, 'noindex', 'the page asks not to be indexed (meta robots)');
          return;
        }
        page = html;
      } else if (type === 'text/markdown' || type === 'text/x-markdown' || (type === 'text/plain' && /\.(md|markdown)$/i.test(new URL(url).pathname))) {
        page = extractMarkdown(answer.body, lastSegment(url));
      } else if (type === 'text/plain') {
        page = extractText(answer.body, lastSegment(url));
      } else {
        fail(job.url, 'unsupported-type', `Content-Type ${type.slice(0, 100) || 'missing'}: only HTML, markdown and plain text are read`);
        return;
      }
    } catch (error) {
      fail(job.url, 'unparsable', (error as Error).message);
      return;
    }
    const passages = chunk(page, url);
    if (passages.length === 0) {
      fail(job.url, 'empty', 'no text found');
      return;
    }
    result.fetched.push({
      url,
      title: page.title,
      etag: answer.etag,
      lastModified: answer.lastModified,
      links: links.filter((link) => sameScope(job, link)),
      hash: hashPassages(passages),
      passages,
    });
  };

  function follow(job: Job, link: string): void {
    if (!sameScope(job, link) || NOT_A_PAGE.test(new URL(link).pathname)) return;
    enqueue({ ...job, url: link, depth: job.depth + 1 });
  }

  /**
   * The body decides whether it is a sitemap, not its Content-Type: sitemaps.org asks for no media
   * type, and real ones come as text/plain or application/octet-stream from object stores and
   * CDNs, or as text/html from a script that never set one (PHP's default). Refusing those would
   * freeze a working site's index; an HTML page served as application/xml is refused all the same.
   * The type only goes into the failure's detail, where it tells the owner what was served.
   */
  function readSitemap(job: Job, body: string, contentType: string): void {
    let sitemap;
    try {
      sitemap = parseSitemap(body);
    } catch (error) {
      // A 200 that is no sitemap (a soft 404, a maintenance page, a file cut short) says nothing of
      // the site's pages, any more than a 503 does: they stay as they were (see `passing`).
      passing(job, job.url);
      // (The type as served, clipped: a header can be kilobytes long, and this goes to the log.)
      fail(job.url, 'unparsable', `not a sitemap: ${(error as Error).message} (Content-Type ${contentType.slice(0, 100) || 'missing'})`);
      return;
    }
    for (const url of sitemap.urls) {
      // A sitemap may only speak for its own origin (sitemaps.org: "all URLs in a Sitemap must be
      // from a single host"); anything else would let a sitemap point the server anywhere.
      if (new URL(url).origin !== job.origin) {
        fail(url, 'off-origin', `listed by ${job.url}, outside ${job.origin}`);
        continue;
      }
      if (sitemap.kind === 'index') {
        if (job.depth + 1 < MAX_SITEMAP_DEPTH) enqueue({ ...job, url, kind: 'sitemap', depth: job.depth + 1 });
      } else {
        enqueue({ ...job, url, kind: 'page', follow: false, depth: job.depth + 1 });
      }
    }
  }

  // A few workers take jobs in queue order (breadth first); a worker with nothing to do waits
  // for the others, who may still add links.
  let running = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (options.signal?.aborted) queue.length = 0;
      while (running < limits.concurrency && queue.length > 0) {
        const job = queue.shift() as Job;
        running++;
        visit(job)
          .catch((error: unknown) => fail(job.url, 'network', (error as Error).message))
          .finally(() => {
            running--;
            pump();
          });
      }
      if (running === 0 && queue.length === 0) resolve();
    };
    pump();
  });

  // The pages that a sitemap or robots.txt unread this time would have led to (none of them was
  // asked about) stay as they were, with the redirects that led to them, until a crawl can tell.
  for (const page of options.known.values()) {
    if (!unread.has(new URL(page.url).origin) || seen.has(page.url)) continue;
    result.kept.push(page.url);
    for (const from of page.redirectedFrom ?? []) ledTo(from, page.url);
  }
  for (const [to, froms] of led) result.redirectedFrom.set(to, [...froms]);
  return result;
}

function sameScope(job: Job, link: string): boolean {
  const url = new URL(link);
  return url.origin === job.origin && url.pathname.startsWith(job.scope);
}

export function hashPassages(passages: readonly Passage[]): string {
  const hash = createHash('sha256');
  for (const p of passages) hash.update(`${p.title}\0${p.heading}\0${p.text}\0`);
  return hash.digest('base64url');
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

function lastSegment(url: string): string {
  const path = new URL(url).pathname;
  const segment = path.slice(path.lastIndexOf('/') + 1);
  let name = segment;
  try {
    name = decodeURIComponent(segment);
  } catch {
    // A malformed escape stays as it was.
  }
  return name.replace(/\.(md|markdown|txt)$/i, '') || new URL(url).host;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
