import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { SecretRedactor } from '../observability/secret-redactor.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { articlePage, startStaticSite, type SitePageAnswer, type SiteRequest, type StaticSite } from '../test/static-site.js';
import { Knowledge } from './knowledge.js';
import type { KnowledgeStore } from './knowledge-store.js';
import { RedisKnowledgeStore } from './redis-knowledge-store.js';
import { SqliteKnowledgeStore } from './sqlite-knowledge-store.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

const KAYAK = articlePage('Kayak rentals', { Hours: 'The kayak rental desk opens at nine and closes at sunset, paddles included.' });
const INVOICES_1 = articlePage('Invoices', { Format: 'Invoices are emailed every month as PDF attachments to the billing contact.' });
const INVOICES_2 = articlePage('Invoices', { Format: 'Invoices now arrive as signed XML documents through the billing portal.' });
const GIFT_CARDS = articlePage('Gift cards', { Validity: 'Gift cards never expire and can be redeemed in every harbour shop.' });
/** A sitemap (sitemaps.org 0.9) listing `paths` on `origin`. */
const urlset = (origin: string, paths: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${paths.map((p) => `<url><loc>${origin}${p}</loc></url>`).join('')}</urlset>`;
const MAY = 'Fri, 01 May 2026 08:00:00 GMT';
const JUNE = 'Mon, 01 Jun 2026 08:00:00 GMT';

let redisProcess: ChildProcess;
let redisUrl: string;
let folder: string;
beforeAll(async () => {
  const port = await freePort();
  redisProcess = await startRedis(port);
  redisUrl = `redis://127.0.0.1:${port}`;
  folder = mkdtempSync(join(tmpdir(), 'chatdrop-knowledge-refresh-'));
});
afterAll(async () => {
  if (redisProcess) await stopRedis(redisProcess);
  if (folder) rmSync(folder, { recursive: true, force: true });
});

const backends: { name: string; open: () => Promise<{ store: KnowledgeStore; done: () => void }> }[] = [
  { name: 'SQLite', open: async () => ({ store: new SqliteKnowledgeStore({ path: join(folder, `${Date.now()}.db`) }), done: () => {} }) },
  {
    name: 'Redis',
    open: async () => {
      const redis: Redis = await connectTestClient(redisUrl);
      await redis.flushdb();
      return { store: new RedisKnowledgeStore({ redis }), done: () => redis.disconnect() };
    },
  },
];

/** Log lines as they are written, and a wait for the nth line with a given message. */
function capturingLogger() {
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const waiters: (() => void)[] = [];
  const logger = createLogger({
    level: 'debug',
    redactor: new SecretRedactor(),
    destination: {
      write(line: string) {
        lines.push(JSON.parse(line) as { msg: string });
        for (const wake of waiters.splice(0)) wake();
      },
    },
  });
  const count = (msg: string) => lines.filter((l) => l.msg === msg).length;
  async function waitFor(msg: string, n: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (count(msg) < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${n}th "${msg}" log line within ${timeoutMs} ms; lines: ${lines.map((l) => l.msg).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  return { logger, lines, count, waitFor };
}

describe.each(backends)('the knowledge refresh, on $name', ({ open }) => {
  let site: StaticSite;
  let knowledge: Knowledge | undefined;
  let done: (() => void) | undefined;
  let store: KnowledgeStore | undefined;
  afterEach(async () => {
    await knowledge?.close();
    await store?.close();
    done?.();
    await site?.close();
  });

  it('fires on its period: asks conditionally, keeps what answered 304, takes a changed page, drops one that now 404s', async () => {
    /** What the site answered each request, with the validators the request carried. */
    const answered: { path: string; status: number; ifNoneMatch?: string; ifModifiedSince?: string }[] = [];
    const recording = (path: string, answer: (r: SiteRequest) => SitePageAnswer) => (r: SiteRequest) => {
      const a = answer(r);
      answered.push({ path, status: a.status ?? 200, ifNoneMatch: r.headers['if-none-match'], ifModifiedSince: r.headers['if-modified-since'] });
      return a;
    };
    site = await startStaticSite({});
    site.set('/kayaks', recording('/kayaks', (r) => (r.headers['if-none-match'] === '"k1"' ? { status: 304, headers: { etag: '"k1"' } } : { body: KAYAK, headers: { etag: '"k1"' } })));
    site.set('/invoices', recording('/invoices', (r) => (r.headers['if-modified-since'] === MAY ? { status: 304 } : { body: INVOICES_1, headers: { 'last-modified': MAY } })));
    site.set('/gift-cards', recording('/gift-cards', () => ({ body: GIFT_CARDS, headers: { etag: '"g1"' } })));
    site.set('/sitemap.xml', { type: 'application/xml', body: urlset(site.origin, ['/kayaks', '/invoices', '/gift-cards']) });

    // A short period on the service's own clock: the timer really fires (every refreshMs), and
    // the refresh falls due when the test moves the clock past the period, not a moment before.
    let clock = Date.now();
    const log = capturingLogger();
    ({ store, done } = await open());
    knowledge = new Knowledge({
      sources: [{ kind: 'sitemap', url: `${site.origin}/sitemap.xml` }],
      store,
      log: log.logger,
      refreshMs: 300,
      limits: { delayMs: 0 },
      now: () => clock,
    });
    knowledge.start();
    await log.waitFor('knowledge: index updated', 1);
    const ask = async (question: string) => (await knowledge!.retrieve({ question, history: [] })).map((p) => ({ url: p.url, text: p.text }));
    expect((await ask('When does the kayak rental desk open?'))[0]?.url).toBe(`${site.origin}/kayaks`);
    expect((await ask('Are invoices sent as PDF attachments?'))[0]?.text).toContain('PDF attachments');
    expect((await ask('Do gift cards expire?'))[0]?.url).toBe(`${site.origin}/gift-cards`);
    expect(answered.map((a) => [a.path, a.status])).toEqual(expect.arrayContaining([['/kayaks', 200], ['/invoices', 200], ['/gift-cards', 200]]));

    // The site changes: one page is rewritten, one is taken down, one stays as it was.
    site.set('/invoices', recording('/invoices', () => ({ body: INVOICES_2, headers: { 'last-modified': JUNE } })));
    site.set('/gift-cards', recording('/gift-cards', () => ({ status: 404, body: 'not found' })));
    const firstCrawl = answered.splice(0);
    expect(firstCrawl).toHaveLength(3);
    expect(log.count('knowledge: index updated')).toBe(1);

    clock += 1_000; // the period has passed: the next tick refreshes
    await log.waitFor('knowledge: index updated', 2);

    // Conditional requests with the validators the pages gave; 304 for the page that did not change.
    expect(answered.find((a) => a.path === '/kayaks')).toEqual({ path: '/kayaks', status: 304, ifNoneMatch: '"k1"', ifModifiedSince: undefined });
    expect(answered.find((a) => a.path === '/invoices')).toEqual({ path: '/invoices', status: 200, ifNoneMatch: undefined, ifModifiedSince: MAY });
    expect(answered.find((a) => a.path === '/gift-cards')).toMatchObject({ path: '/gift-cards', status: 404, ifNoneMatch: '"g1"' });
    expect((await knowledge.status()).lastCrawl).toMatchObject({ fetched: 1, unchanged: 1, removed: 1, failures: { gone: 1 } });
    expect(log.lines.filter((l) => l.msg === 'knowledge: page not indexed').map((l) => [l.url, l.reason])).toEqual([[`${site.origin}/gift-cards`, 'gone']]);

    // The changed page's new text is found, its old text is not; the kept page is still there;
    // the page that is gone left the index.
    expect(await ask('Do invoices come as signed XML through the billing portal?')).toEqual([
      { url: `${site.origin}/invoices`, text: 'Invoices now arrive as signed XML documents through the billing portal.' },
    ]);
    expect((await ask('Are invoices sent as PDF attachments?')).map((p) => p.text).join(' ')).not.toContain('PDF');
    expect((await ask('When does the kayak rental desk open?'))[0]?.url).toBe(`${site.origin}/kayaks`);
    expect(await ask('Do gift cards expire?')).toEqual([]);
    expect([...(await store.pages()).keys()].sort()).toEqual([`${site.origin}/invoices`, `${site.origin}/kayaks`]);
  }, 60_000);

  it('refreshes pages reached through redirects with conditional requests, and follows a redirect that moved or went', async () => {
    /** Each answer of the pages behind the redirects: 200 in full, or 304. */
    const answers: string[] = [];
    const page = (path: string, body: string, validators: { etag?: string; lastModified?: string }) => (r: SiteRequest): SitePageAnswer => {
      const unchanged =
        (validators.etag !== undefined && r.headers['if-none-match'] === validators.etag) ||
        (validators.lastModified !== undefined && r.headers['if-modified-since'] === validators.lastModified);
      answers.push(`${path} ${unchanged ? 304 : 200}`);
      const headers = { ...(validators.etag ? { etag: validators.etag } : {}), ...(validators.lastModified ? { 'last-modified': validators.lastModified } : {}) };
      return unchanged ? { status: 304, headers } : { body, headers };
    };
    site = await startStaticSite({});
    // The sitemap lists the old addresses; each redirects to where the article now lives.
    site.set('/kayaks', { status: 301, headers: { location: '/rentals/kayaks' } });
    site.set('/rentals/kayaks', page('/rentals/kayaks', KAYAK, { etag: '"k1"' }));
    site.set('/invoices', { status: 302, headers: { location: '/billing/invoices' } });
    site.set('/billing/invoices', page('/billing/invoices', INVOICES_1, { lastModified: MAY }));
    site.set('/gift-cards', { status: 308, headers: { location: '/shop/gift-cards' } });
    site.set('/shop/gift-cards', page('/shop/gift-cards', GIFT_CARDS, { etag: '"g1"' }));
    site.set('/sitemap.xml', { type: 'application/xml', body: urlset(site.origin, ['/kayaks', '/invoices', '/gift-cards']) });
    let clock = Date.now();
    const log = capturingLogger();
    ({ store, done } = await open());
    knowledge = new Knowledge({ sources: [{ kind: 'sitemap', url: `${site.origin}/sitemap.xml` }], store, log: log.logger, refreshMs: 300, limits: { delayMs: 0 }, now: () => clock });
    knowledge.start();
    await log.waitFor('knowledge: index updated', 1);
    const full = () => answers.filter((a) => a.endsWith(' 200')).length;
    const unchanged = () => answers.filter((a) => a.endsWith(' 304')).length;
    expect([full(), unchanged()]).toEqual([3, 0]);
    expect((await store.pages()).get(`${site.origin}/rentals/kayaks`)?.redirectedFrom).toEqual([`${site.origin}/kayaks`]);

    // Two refreshes: every page behind a redirect answers 304 to the validators it gave.
    for (let refresh = 2; refresh <= 3; refresh++) {
      clock += 1_000;
      await log.waitFor('knowledge: index updated', refresh);
      expect([full(), unchanged()], `refresh ${refresh - 1}`).toEqual([3, 3 * (refresh - 1)]);
      expect((await knowledge.status()).lastCrawl).toMatchObject({ fetched: 0, unchanged: 3, removed: 0 });
    }

    // The redirect to the kayaks fails for now (kept), the invoices' now leads elsewhere (the new
    // target in full, the old page out), the gift cards' old address is gone (the page leaves).
    site.set('/kayaks', { status: 503 });
    site.set('/invoices', { status: 301, headers: { location: '/invoices-2026' } });
    site.set('/invoices-2026', page('/invoices-2026', INVOICES_2, { etag: '"i2"' }));
    site.set('/gift-cards', { status: 404 });
    answers.length = 0;
    clock += 1_000;
    await log.waitFor('knowledge: index updated', 4);
    expect(answers).toEqual(['/invoices-2026 200']);
    expect([...(await store.pages()).keys()].sort()).toEqual([`${site.origin}/invoices-2026`, `${site.origin}/rentals/kayaks`]);
    expect((await knowledge.status()).lastCrawl).toMatchObject({ fetched: 1, unchanged: 1, removed: 2 });
    expect((await knowledge.retrieve({ question: 'Do invoices come as signed XML through the billing portal?', history: [] }))[0]?.url).toBe(`${site.origin}/invoices-2026`);

    // Back again: the kayaks are asked conditionally through their redirect once more.
    site.set('/kayaks', { status: 301, headers: { location: '/rentals/kayaks' } });
    clock += 1_000;
    await log.waitFor('knowledge: index updated', 5);
    expect(answers).toEqual(['/invoices-2026 200', '/rentals/kayaks 304', '/invoices-2026 304']);
  }, 60_000);

  it('keeps every page through refreshes whose sitemap answers 200 with something else, says why, and still drops them for a real empty one', async () => {
    site = await startStaticSite({});
    site.set('/kayaks', { body: KAYAK });
    site.set('/invoices', { body: INVOICES_1 });
    site.set('/gift-cards', { body: GIFT_CARDS });
    const INDEX = { type: 'application/xml', body: `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>${site.origin}/sitemap-rentals.xml</loc></sitemap><sitemap><loc>${site.origin}/sitemap-shop.xml</loc></sitemap></sitemapindex>` };
    const RENTALS = { type: 'application/xml', body: urlset(site.origin, ['/kayaks']) };
    const SHOP = { type: 'application/xml', body: urlset(site.origin, ['/invoices', '/gift-cards']) };
    const SOFT_404 = { type: 'text/html; charset=utf-8', body: '<!DOCTYPE html><html><head><title>404</title></head><body><h1>This page could not be found.</h1></body></html>' };
    site.set('/sitemap_index.xml', INDEX);
    site.set('/sitemap-rentals.xml', RENTALS);
    site.set('/sitemap-shop.xml', SHOP);

    let clock = Date.now();
    const log = capturingLogger();
    ({ store, done } = await open());
    knowledge = new Knowledge({ sources: [{ kind: 'sitemap', url: `${site.origin}/sitemap_index.xml` }], store, log: log.logger, refreshMs: 300, limits: { delayMs: 0 }, now: () => clock });
    knowledge.start();
    await log.waitFor('knowledge: index updated', 1);
    const all = [`${site.origin}/gift-cards`, `${site.origin}/invoices`, `${site.origin}/kayaks`];
    expect([...(await store.pages()).keys()].sort()).toEqual(all);
    let refreshes = 1;
    const refresh = async () => {
      log.lines.length = 0;
      clock += 1_000;
      await log.waitFor('knowledge: index updated', 1);
      refreshes++;
      return {
        pages: [...(await store!.pages()).keys()].sort(),
        record: (await knowledge!.status()).lastCrawl,
        told: log.lines.filter((l) => l.msg === 'knowledge: page not indexed').map((l) => [String(l.url).slice(site.origin.length), l.reason, l.detail]),
      };
    };

    // Each of these answers 200 where a sitemap was: every page stays, and the failure is told once.
    const broken: [string, string, SitePageAnswer, RegExp][] = [
      ['an HTML soft 404 for the index', '/sitemap_index.xml', SOFT_404, /^not a sitemap: the root element is <html>/],
      ['an empty body', '/sitemap_index.xml', { type: 'application/xml', body: '' }, /^not a sitemap: the body is empty/],
      ['plain text', '/sitemap_index.xml', { type: 'text/plain', body: 'Scheduled maintenance until 06:00 UTC.' }, /^not a sitemap: no XML element/],
      ['malformed XML (cut short)', '/sitemap_index.xml', { type: 'application/xml', body: INDEX.body.slice(0, INDEX.body.indexOf('<sitemap><loc>', 80)) }, /^not a sitemap: .*never closed/],
      ['a child sitemap answering HTML', '/sitemap-shop.xml', SOFT_404, /^not a sitemap: the root element is <html>/],
    ];
    for (const [name, path, answer, detail] of broken) {
      site.set(path, answer);
      const { pages, record, told } = await refresh();
      expect(pages, name).toEqual(all);
      // When the index reads and only a child fails, the other child's page is asked again (in full: it has no validators).
      const rentalsRead = path !== '/sitemap_index.xml';
      expect(record, name).toMatchObject({ removed: 0, fetched: rentalsRead ? 1 : 0, unchanged: rentalsRead ? 2 : 3 });
      expect(record?.failures, name).toEqual({ unparsable: 1 });
      expect(told, name).toEqual([[path, 'unparsable', expect.stringMatching(detail)]]);
      expect((await knowledge.retrieve({ question: 'Do gift cards expire?', history: [] }))[0]?.url, name).toBe(`${site.origin}/gift-cards`);
      site.set(path, path === '/sitemap_index.xml' ? INDEX : SHOP);
    }

    // The sitemaps are back, the shop's invoices page changed: a normal refresh.
    site.set('/invoices', { body: INVOICES_2 });
    const good = await refresh();
    expect(good.pages).toEqual(all);
    expect(good.record).toMatchObject({ removed: 0 });
    expect(good.record?.failures).toEqual({});
    expect(good.told).toEqual([]);
    expect((await knowledge.retrieve({ question: 'Do invoices come as signed XML through the billing portal?', history: [] }))[0]?.url).toBe(`${site.origin}/invoices`);

    // A real, empty sitemap is the owner's word: the shop lists no pages any more.
    site.set('/sitemap-shop.xml', { type: 'application/xml', body: urlset(site.origin, []) });
    const emptied = await refresh();
    expect(emptied.pages).toEqual([`${site.origin}/kayaks`]);
    expect(emptied.record).toMatchObject({ removed: 2 });
    expect(emptied.record?.failures).toEqual({});
    expect(refreshes).toBe(8);
  }, 60_000);
});
