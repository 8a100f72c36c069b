import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { articlePage, startStaticSite, type StaticSite } from '../test/static-site.js';
import { crawl, type CrawlFailure } from './crawl.js';
import { extractHtml } from './extract.js';
import { ExtractPool } from './extract-pool.js';

const pools: ExtractPool[] = [];
const sites: StaticSite[] = [];
afterEach(async () => {
  await Promise.all([...pools.splice(0).map((p) => p.close()), ...sites.splice(0).map((s) => s.close())]);
});
function pool(options: ConstructorParameters<typeof ExtractPool>[0]): ExtractPool {
  const p = new ExtractPool(options);
  pools.push(p);
  return p;
}

const URL_ = 'https://help.example.com/sso';
/** The largest page extract.ts accepts (29,000 elements): about a second or two of linkedom on the thread that runs it. */
const SLOW = `<html><body><p>${'a<br>'.repeat(29_000)}</p></body></html>`;
/** Slower still (linkedom's tree building walks the 250 ancestors of each of 29,000 links): seconds, however fast the machine. */
const SLOWER = `<html><body>${'<div>'.repeat(250)}${'<a href="/p">p</a> '.repeat(29_000)}</body></html>`;

/** extract.test.ts's pages, and the two kinds it refuses. */
const FIXTURES: string[] = [
  articlePage('Set up SSO', {
    'Supported providers': 'Any SAML 2.0 identity provider works, including Okta and Microsoft Entra ID.',
    'Enforce SSO': 'With Require SSO on, members can no longer sign in with a password at all.',
  }).replace('</article>', '<script>steal()</script><h3>Break-glass account</h3><ul><li>Keep one owner with a password.</li><li>Turn on 2FA for it.</li></ul></article>'),
  '<html><head><title>Status</title></head><body><nav>Home</nav><p>All systems normal.</p></body></html>',
  articlePage('Private', { Notes: 'Internal notes that ask not to be indexed or followed.' }, '<meta name="robots" content="noindex, nofollow">'),
  // Past Readability's bound of 1,000 elements: the landmark path.
  `<html><body><main><h1>Long</h1>${'<p>Some words in a paragraph of the article.</p>'.repeat(1_500)}</main></body></html>`,
];
const REFUSED: string[] = [`<html><body>${'<div>'.repeat(300)}text</body></html>`, `<html><body>${'<a href="/p">p</a> '.repeat(30_001)}</body></html>`];

/** How late a 10 ms interval timer fired at worst while `work` ran: how long the event loop was held. */
async function timerLateness(work: () => unknown): Promise<number> {
  let worst = 0;
  let due = performance.now() + 10;
  const note = (): void => {
    const now = performance.now();
    worst = Math.max(worst, now - due);
    due = now + 10;
  };
  const timer = setInterval(note, 10);
  try {
    await work();
  } finally {
    note();
    clearInterval(timer);
  }
  return worst;
}

/** The process's threads (Linux): a worker thread is one of them while it lives. */
const threads = (): number => readdirSync('/proc/self/task').length;
/** The processes this one started (Linux), by PID. */
const children = (): string[] =>
  readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      // Field 4 of /proc/PID/stat, after the command in parentheses, is the parent's PID.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(process.pid);
    } catch {
      return false; // gone in between
    }
  });

describe('extraction in worker threads', () => {
  it('answers exactly what extractHtml answers on this thread, refusals included, several pages waiting for one worker', async () => {
    const p = pool({ workers: 1 });
    const inWorker = await Promise.all([...FIXTURES, ...REFUSED].map((html) => p.extract(html, URL_).then((page) => page, (error: Error) => error.message)));
    const here = [...FIXTURES, ...REFUSED].map((html) => {
      try {
        return extractHtml(html, URL_);
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(inWorker).toEqual(here);
    expect(inWorker.slice(-2)).toEqual(['elements nested more than 256 deep', 'more than 30000 elements']);
  }, 60_000);

  it('fails a page whose extraction overruns the time limit, with the reason, and extracts the next one in a new worker', async () => {
    const p = pool({ timeoutMs: 500 });
    const site = await startStaticSite({});
    sites.push(site);
    site.set('/help/huge', { body: SLOWER });
    site.set('/help/reset', { body: articlePage('Reset your password', { 'On the web': 'Choose Forgot password on the sign-in page and follow the link we email you.' }) });
    site.set('/sitemap.xml', { type: 'application/xml', body: `<urlset><url><loc>${site.origin}/help/huge</loc></url><url><loc>${site.origin}/help/reset</loc></url></urlset>` });
    const failures: CrawlFailure[] = [];
    const started = performance.now();
    // One page at a time: the huge one first, then the next in the worker that replaced it.
    const result = await crawl([{ kind: 'sitemap', url: `${site.origin}/sitemap.xml` }], {
      known: new Map(),
      limits: { delayMs: 0, concurrency: 1 },
      extractHtml: (html, url) => p.extract(html, url),
      onFailure: (f) => failures.push(f),
    });
    expect(failures).toEqual([{ url: `${site.origin}/help/huge`, reason: 'unparsable', detail: expect.stringMatching(/^extraction took longer than 500 ms \(CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS\)/) }]);
    expect(result.fetched.map((page) => [page.url, page.title])).toEqual([[`${site.origin}/help/reset`, 'Reset your password']]);
    // Given up at the limit, not after the seconds the page would have taken.
    expect(performance.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it('keeps the event loop free while a page that holds this thread for a second or more is extracted', async () => {
    const p = pool({ timeoutMs: 60_000 });
    // The worker is started and warm: what follows measures the page, not the worker's start.
    await p.extract(FIXTURES[0] as string, URL_);
    // The worker first: the garbage of a page extracted here would be collected during the next run.
    let inTheWorker;
    const inWorker = await timerLateness(async () => {
      inTheWorker = await p.extract(SLOW, URL_);
    });
    let here;
    const onThisThread = await timerLateness(() => {
      here = extractHtml(SLOW, URL_);
    });
    expect(inTheWorker).toEqual(here);
    expect(onThisThread, 'the page must hold this thread for long enough to show anything').toBeGreaterThan(250);
    // A loaded machine stalls the loop now and then whatever runs (a collection, the scheduler):
    // 250 ms, or a quarter of what the page itself holds this thread for when the machine is slow.
    expect(inWorker, `late by ${inWorker.toFixed(0)} ms in the worker, ${onThisThread.toFixed(0)} ms on this thread`).toBeLessThan(Math.max(250, onThisThread / 4));
  }, 60_000);

  it('replaces a worker that crashes (its heap cap reached), failing only the page it had', async () => {
    // 16 MB is plenty for an article and far too little for the tree of 29,000 elements.
    const p = pool({ maxHeapMb: 16, timeoutMs: 60_000 });
    const article = FIXTURES[0] as string;
    const [before, crashed, after] = await Promise.all([
      p.extract(article, URL_),
      p.extract(SLOW, URL_).then(() => 'extracted', (error: Error) => error.message),
      p.extract(article, URL_),
    ]);
    expect(crashed).toMatch(/^the extraction worker failed: .*memory limit/);
    expect(before).toEqual(extractHtml(article, URL_));
    expect(after).toEqual(before);
  }, 60_000);

  it('ends its threads on close: the page under way and those waiting fail, and no thread or process is left', async () => {
    const base = threads();
    const before = children();
    // From the sources a worker loads through tsx: with its cache off, tsx runs esbuild for every
    // file, and no esbuild may outlive the worker.
    const cache = process.env.TSX_DISABLE_CACHE;
    process.env.TSX_DISABLE_CACHE = '1';
    const p = pool({ timeoutMs: 60_000 });
    try {
      await p.extract(FIXTURES[0] as string, URL_);
    } finally {
      if (cache === undefined) delete process.env.TSX_DISABLE_CACHE;
      else process.env.TSX_DISABLE_CACHE = cache;
    }
    expect(threads()).toBeGreaterThan(base);
    // The worker is ready and idle: this page goes to it at once, the next waits.
    const running = p.extract(SLOWER, URL_).then(() => 'extracted', (error: Error) => error.message);
    const waiting = p.extract(FIXTURES[0] as string, URL_).then(() => 'extracted', (error: Error) => error.message);
    await p.close();
    expect(await running).toBe('extraction stopped: the server is shutting down');
    expect(await waiting).toBe('extraction stopped: the server is shutting down');
    expect(threads()).toBe(base);
    expect(children()).toEqual(before);
    await expect(p.extract(FIXTURES[0] as string, URL_)).rejects.toThrow(/shutting down/);
  }, 60_000);

  it('uses at least one worker and at most the cores but one', () => {
    expect(new ExtractPool({ workers: 0 }).size).toBe(1);
    expect(new ExtractPool({ workers: 10_000 }).size).toBeLessThanOrEqual(Math.max(1, availableParallelism() - 1));
  });
});
