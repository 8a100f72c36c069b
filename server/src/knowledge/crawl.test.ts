import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { articlePage, startStaticSite, type StaticSite } from '../test/static-site.js';
import { crawl, type CrawlFailure, type CrawlLimits, type IndexedPage } from './crawl.js';

const FAST: Partial<CrawlLimits> = { delayMs: 0, timeoutMs: 1_000, maxBytes: 64 * 1024 };
const sites: StaticSite[] = [];
afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
});
async function site(pages: Parameters<typeof startStaticSite>[0]): Promise<StaticSite> {
  const s = await startStaticSite(pages);
  sites.push(s);
  return s;
}
const sitemap = (urls: string[], index = false): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${index ? 'sitemapindex' : 'urlset'} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` +
  urls.map((u) => (index ? `<sitemap><loc>${u}</loc></sitemap>` : `<url><loc>${u}</loc><lastmod>2026-01-01</lastmod></url>`)).join('') +
  `</${index ? 'sitemapindex' : 'urlset'}>`;
const XML = 'application/xml';

/** An article page titled `t`, with enough words to be indexed. */
const article = (t: string) => ({ body: articlePage(t, { Body: `The ${t} article, with enough words in it to count.` }) });

/** A site of two articles its sitemap lists, crawled once: what a refresh starts from. */
async function twoIndexedPages() {
  const s = await site({ '/a': article('a'), '/b': article('b') });
  s.set('/sitemap.xml', { type: XML, body: sitemap([`${s.origin}/a`, `${s.origin}/b`]) });
  const source = [{ kind: 'sitemap' as const, url: `${s.origin}/sitemap.xml` }];
  const first = await crawl(source, { known: new Map(), limits: FAST });
  const known = new Map(first.fetched.map((p) => [p.url, p]));
  expect([...known.keys()].sort()).toEqual([`${s.origin}/a`, `${s.origin}/b`]);
  return { s, source, known };
}

describe('the knowledge crawler', () => {
  it('reads a sitemap index and its sitemaps, and keeps each page\'s article, title and headings, not its navigation', async () => {
    const s = await site({});
    s.set('/sitemap_index.xml', { type: XML, body: sitemap([`${s.origin}/sitemap-a.xml`, `${s.origin}/sitemap-b.xml`], true) });
    s.set('/sitemap-a.xml', { type: XML, body: sitemap([`${s.origin}/help/reset`]) });
    s.set('/sitemap-b.xml', { type: XML, body: sitemap([`${s.origin}/help/plans`]) });
    s.set('/help/reset', { body: articlePage('Reset your password', { 'On the web': 'Choose Forgot password on the sign-in page and follow the link we email you within thirty minutes.', 'On your phone': 'In the mobile app tap Sign in, then Forgot password under the password field.' }) });
    s.set('/help/plans', { body: articlePage('Plans', { Pro: 'Pro costs twenty dollars per member per month and includes preview deployments for every pull request.' }) });

    const result = await crawl([{ kind: 'sitemap', url: `${s.origin}/sitemap_index.xml` }], { known: new Map(), limits: FAST });

    expect(result.failures).toEqual([]);
    expect(result.fetched.map((p) => p.url).sort()).toEqual([`${s.origin}/help/plans`, `${s.origin}/help/reset`]);
    const reset = result.fetched.find((p) => p.url.endsWith('/reset'));
    expect(reset?.title).toBe('Reset your password');
    const text = reset?.passages.map((p) => `${p.heading}: ${p.text}`).join('\n') ?? '';
    // Short sections travel together, the later heading kept inside the text.
    expect(text).toContain('On the web: Choose Forgot password');
    expect(text).toContain('On your phone\n\nIn the mobile app tap Sign in');
    expect(text).not.toMatch(/Pricing|Careers|Copyright/);
    expect(reset?.passages.every((p) => p.url === `${s.origin}/help/reset` && p.title === 'Reset your password')).toBe(true);
  });

  it('refuses what a sitemap lists on another origin, without asking it anything', async () => {
    const other = await site({ '/secret': { body: articlePage('Internal', { A: 'Not for the index of another site at all, ever.' }) } });
    const s = await site({ '/help/a': { body: articlePage('A page', { Intro: 'A page on the right origin with enough words to be an article.' }) } });
    s.set('/sitemap.xml', { type: XML, body: sitemap([`${s.origin}/help/a`, `${other.origin}/secret`, 'http://169.254.169.254/latest/meta-data/']) });
    const failures: CrawlFailure[] = [];
    const result = await crawl([{ kind: 'sitemap', url: `${s.origin}/sitemap.xml` }], { known: new Map(), limits: FAST, onFailure: (f) => failures.push(f) });
    expect(result.fetched.map((p) => p.url)).toEqual([`${s.origin}/help/a`]);
    expect(failures.map((f) => [f.url, f.reason])).toEqual([
      [`${other.origin}/secret`, 'off-origin'],
      ['http://169.254.169.254/latest/meta-data/', 'off-origin'],
    ]);
    expect(other.requests).toEqual([]);
  });

  it('crawls from a page breadth first, on its origin and under its folder only, honouring noindex and nofollow', async () => {
    const other = await site({ '/': { body: articlePage('Elsewhere', { A: 'Another site entirely, which must never be asked.' }) } });
    const s = await site({});
    s.set('/help/', {
      body: `<html><head><title>Help</title><meta name="robots" content="noindex, follow"></head><body><ul>
        <li><a href="/help/one">One</a></li><li><a href="two#section">Two</a></li><li><a href="${other.origin}/">Other</a></li>
        <li><a href="/blog/post">Blog</a></li><li><a href="mailto:x@y.z">Mail</a></li><li><a href="/help/logo.png">Logo</a></li></ul></body></html>`,
    });
    s.set('/help/one', { body: articlePage('One', { First: 'The first article, which links on to the third one below.' }).replace('</article>', '<a href="/help/three">Three</a></article>') });
    s.set('/help/two', { body: articlePage('Two', { Second: 'The second article, with nothing to follow from it, says its robots tag.' }, '<meta name="robots" content="nofollow">').replace('</article>', '<a href="/help/hidden">Hidden</a></article>') });
    s.set('/help/three', { body: articlePage('Three', { Third: 'The third article, found two links away from the start page.' }) });
    s.set('/help/hidden', { body: articlePage('Hidden', { X: 'Only linked from a nofollow page, so never fetched by us.' }) });

    const result = await crawl([{ kind: 'page', url: `${s.origin}/help/` }], { known: new Map(), limits: FAST });
    expect(result.fetched.map((p) => p.url)).toEqual([`${s.origin}/help/one`, `${s.origin}/help/two`, `${s.origin}/help/three`]);
    expect(result.failures).toEqual([{ url: `${s.origin}/help/`, reason: 'noindex', detail: expect.any(String) }]);
    const asked = s.requests.map((r) => r.path).filter((p) => p !== '/robots.txt');
    expect(asked).toEqual(['/help/', '/help/one', '/help/two', '/help/three']);
    expect(other.requests).toEqual([]);
  });

  it('honours robots.txt for the Chatdrop user agent and its Crawl-delay', async () => {
    const page = (t: string) => ({ body: articlePage(t, { Body: `The ${t} page, with a sentence long enough to count as text.` }) });
    const s = await site({
      '/robots.txt': { type: 'text/plain', body: 'User-agent: *\nDisallow: /\n\nUser-agent: Chatdrop\nDisallow: /help/private\nAllow: /help/\nCrawl-delay: 0.2\n' },
      '/help/a': page('a'),
      '/help/b': page('b'),
      '/help/private/c': page('c'),
    });
    s.set('/sitemap.xml', { type: XML, body: sitemap([`${s.origin}/help/a`, `${s.origin}/help/b`, `${s.origin}/help/private/c`]) });
    const result = await crawl([{ kind: 'sitemap', url: `${s.origin}/sitemap.xml` }], { known: new Map(), limits: { ...FAST, concurrency: 3 } });
    expect(result.fetched.map((p) => p.url).sort()).toEqual([`${s.origin}/help/a`, `${s.origin}/help/b`]);
    expect(result.failures.map((f) => [f.url, f.reason])).toEqual([[`${s.origin}/help/private/c`, 'robots']]);
    expect(s.requests.some((r) => r.path === '/help/private/c')).toBe(false);
    expect(s.requests.every((r) => String(r.headers['user-agent']).startsWith('Chatdrop/'))).toBe(true);
    // One origin, one request per Crawl-delay (200 ms), even with three workers: requests start
    // 200 ms apart, and arrive within a few ms of that (connection set-up moves the first).
    const times = s.requests.filter((r) => r.path !== '/robots.txt').map((r) => r.at);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(150);
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThanOrEqual(2 * 200 - 30);
  });

  it('crawls nothing when robots.txt cannot be read (5xx), everything when it is missing (404)', async () => {
    const s = await site({ '/robots.txt': { status: 503 }, '/help/a': { body: articlePage('A', { B: 'Some text of the page that is long enough.' }) } });
    const down = await crawl([{ kind: 'page', url: `${s.origin}/help/a` }], { known: new Map(), limits: FAST });
    expect(down.fetched).toEqual([]);
    expect(down.failures.map((f) => f.reason)).toEqual(['robots']);
    s.set('/robots.txt', undefined);
    const missing = await crawl([{ kind: 'page', url: `${s.origin}/help/a` }], { known: new Map(), limits: FAST });
    expect(missing.fetched).toHaveLength(1);
  });

  it('honours a multi-megabyte robots.txt by its first 500 KiB, rather than crawling nothing', async () => {
    let rules = 'User-agent: *\nDisallow: /help/private\n';
    for (let i = 0; rules.length < 3 * 1024 * 1024; i++) rules += `Disallow: /archive/${i}/\n`;
    const page = (t: string) => ({ body: articlePage(t, { Body: `The ${t} page, with a sentence long enough to count as text.` }) });
    const s = await site({ '/robots.txt': { type: 'text/plain', body: rules }, '/help/a': page('a'), '/help/private/b': page('b') });
    s.set('/sitemap.xml', { type: XML, body: sitemap([`${s.origin}/help/a`, `${s.origin}/help/private/b`]) });
    const result = await crawl([{ kind: 'sitemap', url: `${s.origin}/sitemap.xml` }], { known: new Map(), limits: FAST });
    expect(result.fetched.map((p) => p.url)).toEqual([`${s.origin}/help/a`]);
    expect(result.failures.map((f) => [f.url, f.reason])).toEqual([[`${s.origin}/help/private/b`, 'robots']]);
  });

  it('on a refresh with robots.txt or the sitemap unreachable, asks no page and keeps the pages it had', async () => {
    const { s, source, known } = await twoIndexedPages();

    s.set('/robots.txt', { status: 503 });
    s.requests.length = 0;
    const robotsDown = await crawl(source, { known, limits: FAST });
    expect(s.requests.map((r) => r.path)).toEqual(['/robots.txt']);
    expect(robotsDown.kept.sort()).toEqual([`${s.origin}/a`, `${s.origin}/b`]);
    expect(robotsDown.failures).toEqual([{ url: `${s.origin}/sitemap.xml`, reason: 'robots', detail: 'robots.txt answered HTTP 503' }]);

    s.set('/robots.txt', undefined);
    s.set('/sitemap.xml', { status: 502 });
    const sitemapDown = await crawl(source, { known, limits: FAST });
    expect(sitemapDown.kept.sort()).toEqual([`${s.origin}/a`, `${s.origin}/b`]);
    expect(sitemapDown.failures.map((f) => f.reason)).toEqual(['http-error']);

    // Crawling from a page: the start page's stored links lead on to the rest.
    const fromPage = [{ kind: 'page' as const, url: `${s.origin}/a` }];
    s.set('/a', { body: articlePage('a', { Body: 'The a article, which links on to the b article.' }).replace('</article>', '<a href="/b">b</a></article>') });
    const linked = await crawl(fromPage, { known: new Map(), limits: FAST });
    s.set('/robots.txt', { hang: true });
    s.requests.length = 0;
    const robotsSlow = await crawl(fromPage, { known: new Map(linked.fetched.map((p) => [p.url, p])), limits: { ...FAST, timeoutMs: 300 } });
    expect(s.requests.map((r) => r.path)).toEqual(['/robots.txt']);
    expect(robotsSlow.kept.sort()).toEqual([`${s.origin}/a`, `${s.origin}/b`]);
  });

  // What a site answers 200 at its sitemap's address when no sitemap is there: a CDN's or
  // framework's "soft 404", a login or maintenance page, an empty body, a text error, another XML
  // document, a file cut short. None of them says the site has no pages.
  const notSitemaps: [string, (origin: string) => { type: string; body: string }, RegExp][] = [
    ['an HTML page (a soft 404)', () => ({ type: 'text/html; charset=utf-8', body: '<!doctype html><html lang="en"><head><title>Page not found</title></head><body><h1>We could not find that page</h1></body></html>' }), /^not a sitemap: the root element is <html>.*\(Content-Type text\/html; charset=utf-8\)$/],
    ['an HTML page served as XML', () => ({ type: XML, body: '<html><body><p>Down for maintenance, back at noon.</p></body></html>' }), /^not a sitemap: the root element is <html>/],
    ['an empty body', () => ({ type: XML, body: '' }), /^not a sitemap: the body is empty/],
    ['plain text', () => ({ type: 'text/plain', body: 'Service temporarily unavailable. Please try again later.' }), /^not a sitemap: no XML element.*\(Content-Type text\/plain\)$/],
    ['JSON', (o) => ({ type: 'application/json', body: JSON.stringify({ urls: [`${o}/a`] }) }), /^not a sitemap: no XML element/],
    ['an RSS feed', () => ({ type: 'application/rss+xml', body: '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title></channel></rss>' }), /^not a sitemap: the root element is <rss>/],
    ['a sitemap cut short after its first entry', (o) => ({ type: XML, body: sitemap([`${o}/a`, `${o}/b`]).split(`<url><loc>${o}/b`)[0] as string }), /^not a sitemap: .*<urlset> is never closed/],
    ['elements nested deeper than a sitemap', () => ({ type: XML, body: `<urlset>${'<url>'.repeat(40)}</urlset>` }), /^not a sitemap: elements nested more than 16 deep/],
  ];
  for (const [name, answer, detail] of notSitemaps) {
    it(`keeps the pages it had, asking none, when the sitemap answers 200 with ${name}, and says why once`, async () => {
      const { s, source, known } = await twoIndexedPages();

      s.set('/sitemap.xml', answer(s.origin));
      s.requests.length = 0;
      const told: CrawlFailure[] = [];
      const broken = await crawl(source, { known, limits: FAST, onFailure: (f) => told.push(f) });
      expect(broken.kept.sort()).toEqual([`${s.origin}/a`, `${s.origin}/b`]);
      expect([broken.fetched, broken.gone]).toEqual([[], []]);
      expect(told).toEqual([{ url: `${s.origin}/sitemap.xml`, reason: 'unparsable', detail: expect.stringMatching(detail) }]);
      expect(broken.failures).toEqual(told);
      expect(s.requests.map((r) => r.path).filter((p) => p !== '/robots.txt')).toEqual(['/sitemap.xml']);

      // The sitemap is back: the pages are read again as usual.
      s.set('/sitemap.xml', { type: XML, body: sitemap([`${s.origin}/a`, `${s.origin}/b`]) });
      const back = await crawl(source, { known, limits: FAST });
      expect(back.failures).toEqual([]);
      expect(back.fetched.map((p) => p.url).sort()).toEqual([`${s.origin}/a`, `${s.origin}/b`]);
    });
  }

  it('keeps the pages a sitemap index\'s child listed when that child answers an HTML page, and refreshes the rest', async () => {
    const s = await site({ '/help/a': article('a'), '/help/b': article('b'), '/shop/c': article('c') });
    s.set('/sitemap_index.xml', { type: XML, body: sitemap([`${s.origin}/sitemap-help.xml`, `${s.origin}/sitemap-shop.xml`], true) });
    s.set('/sitemap-help.xml', { type: XML, body: sitemap([`${s.origin}/help/a`, `${s.origin}/help/b`]) });
    s.set('/sitemap-shop.xml', { type: XML, body: sitemap([`${s.origin}/shop/c`]) });
    const source = [{ kind: 'sitemap' as const, url: `${s.origin}/sitemap_index.xml` }];
    const first = await crawl(source, { known: new Map(), limits: FAST });
    const known = new Map(first.fetched.map((p) => [p.url, p]));
    expect(known.size).toBe(3);

    s.set('/sitemap-help.xml', { body: '<!DOCTYPE html><html><head><title>Sign in</title></head><body><form><input name="user"></form></body></html>' });
    s.set('/shop/c', { body: articlePage('c', { Body: 'The c article, rewritten since the last crawl of the shop.' }) });
    s.requests.length = 0;
    const second = await crawl(source, { known, limits: FAST });
    expect(second.fetched.map((p) => p.url)).toEqual([`${s.origin}/shop/c`]);
    expect(second.kept.sort()).toEqual([`${s.origin}/help/a`, `${s.origin}/help/b`]);
    expect(second.gone).toEqual([]);
    expect(second.failures).toEqual([{ url: `${s.origin}/sitemap-help.xml`, reason: 'unparsable', detail: expect.stringMatching(/^not a sitemap: the root element is <html>/) }]);
    expect(s.requests.some((r) => r.path.startsWith('/help/'))).toBe(false);
  });

  it('drops the pages when the sitemap is a real empty <urlset>: the site lists none', async () => {
    const { s, source, known } = await twoIndexedPages();
    for (const empty of [sitemap([]), '<urlset/>', '<?xml version="1.0"?>\n<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">\n</sm:urlset>\n']) {
      s.set('/sitemap.xml', { type: XML, body: empty });
      const none = await crawl(source, { known, limits: FAST });
      expect([none.fetched, none.kept, none.failures], empty).toEqual([[], [], []]);
    }
  });

  it('reads a gzip sitemap an index lists (application/x-gzip, no Content-Encoding), and refuses one that unpacks past the limit, keeping its pages', async () => {
    const s = await site({ '/help/a': article('a'), '/help/b': article('b') });
    s.set('/sitemap_index.xml', { type: XML, body: sitemap([`${s.origin}/sitemap-help.xml.gz`], true) });
    s.set('/sitemap-help.xml.gz', { type: 'application/x-gzip', body: gzipSync(sitemap([`${s.origin}/help/a`, `${s.origin}/help/b`])) });
    const source = [{ kind: 'sitemap' as const, url: `${s.origin}/sitemap_index.xml` }];
    const first = await crawl(source, { known: new Map(), limits: FAST });
    expect([first.failures, first.fetched.map((p) => p.url).sort()]).toEqual([[], [`${s.origin}/help/a`, `${s.origin}/help/b`]]);

    // 20 MB of XML packed into about 20 KB: it is never unpacked past the 10 MB sitemap limit.
    s.set('/sitemap-help.xml.gz', { type: 'application/x-gzip', body: gzipSync(`<urlset>${' '.repeat(20 * 1024 * 1024)}</urlset>`) });
    const known = new Map(first.fetched.map((p) => [p.url, p]));
    const second = await crawl(source, { known, limits: FAST });
    expect(second.failures.map((f) => [f.url, f.reason])).toEqual([[`${s.origin}/sitemap-help.xml.gz`, 'too-large']]);
    expect(second.kept.sort()).toEqual([`${s.origin}/help/a`, `${s.origin}/help/b`]);
  });

  it('reads a real sitemap whatever Content-Type it is served with (text/html, text/plain, application/octet-stream)', async () => {
    const s = await site({ '/a': article('a') });
    for (const type of ['text/html; charset=UTF-8', 'text/plain', 'application/octet-stream']) {
      s.set('/sitemap.xml', { type, body: sitemap([`${s.origin}/a`]) });
      const result = await crawl([{ kind: 'sitemap', url: `${s.origin}/sitemap.xml` }], { known: new Map(), limits: FAST });
      expect([result.failures, result.fetched.map((p) => p.url)], type).toEqual([[], [`${s.origin}/a`]]);
    }
  });

  it('refreshes a page reached through a redirect conditionally, under the URL it ends at, and follows the redirect where it goes next', async () => {
    const s = await site({});
    const article = (t: string) => articlePage(t, { Body: `The ${t} article, with enough words in it to count as text.` });
    /** How each page answered: 200 in full, 304 unchanged. */
    const answered: string[] = [];
    const withEtag = (path: string, etag: string, body: string) => (r: { headers: Record<string, unknown> }) => {
      const unchanged = r.headers['if-none-match'] === etag;
      answered.push(`${path} ${unchanged ? 304 : 200}`);
      return unchanged ? { status: 304, headers: { etag } } : { body, headers: { etag } };
    };
    s.set('/old', { status: 301, headers: { location: '/new' } });
    s.set('/new', withEtag('/new', '"n1"', article('new')));
    s.set('/newer', withEtag('/newer', '"m1"', article('newer')));
    s.set('/sitemap.xml', { type: XML, body: sitemap([`${s.origin}/old`]) });
    const source = [{ kind: 'sitemap' as const, url: `${s.origin}/sitemap.xml` }];
    // What the index holds after each crawl, as knowledge.ts commits it.
    let known = new Map<string, IndexedPage & { redirectedFrom: string[] }>();
    const refresh = async () => {
      const result = await crawl(source, { known, limits: FAST });
      const next = new Map<string, IndexedPage & { redirectedFrom: string[] }>();
      for (const url of result.kept) if (!result.gone.includes(url)) next.set(url, { ...(known.get(url) as IndexedPage), redirectedFrom: result.redirectedFrom.get(url) ?? [] });
      for (const page of result.fetched) next.set(page.url, { ...page, redirectedFrom: result.redirectedFrom.get(page.url) ?? [] });
      known = next;
      return result;
    };

    await refresh();
    expect([...known.values()].map((p) => [p.url, p.redirectedFrom])).toEqual([[`${s.origin}/new`, [`${s.origin}/old`]]]);
    for (let i = 0; i < 2; i++) {
      const again = await refresh();
      expect(again.kept).toEqual([`${s.origin}/new`]);
      expect(again.fetched).toEqual([]);
    }
    expect(answered).toEqual(['/new 200', '/new 304', '/new 304']);

    // The redirect fails for now: the page it led to stays.
    s.set('/old', { status: 503 });
    expect((await refresh()).kept).toEqual([`${s.origin}/new`]);
    expect([...known.keys()]).toEqual([`${s.origin}/new`]);
    // It leads elsewhere: the new target is taken in full, the old one leaves.
    s.set('/old', { status: 302, headers: { location: '/newer' } });
    const moved = await refresh();
    expect(moved.fetched.map((p) => p.url)).toEqual([`${s.origin}/newer`]);
    expect([...known.keys()]).toEqual([`${s.origin}/newer`]);
    // It is gone: so is the page.
    s.set('/old', { status: 410 });
    await refresh();
    expect(known.size).toBe(0);
    expect(answered).toEqual(['/new 200', '/new 304', '/new 304', '/newer 200']);
  });

  it('follows a redirect on the origin and refuses one off it, without asking the other site', async () => {
    const other = await site({ '/landing': { body: articlePage('Elsewhere', { A: 'A page on another origin that must not be fetched.' }) } });
    const s = await site({
      '/help/old': { status: 301, headers: { location: '/help/new' } },
      '/help/new': { body: articlePage('New home', { Moved: 'This article moved here from its old address last spring.' }) },
      '/help/away': { status: 302, headers: { location: `${other.origin}/landing` } },
      '/help/loop': { status: 302, headers: { location: '/help/loop' } },
    });
    s.set('/sitemap.xml', { type: XML, body: sitemap([`${s.origin}/help/old`, `${s.origin}/help/away`, `${s.origin}/help/loop`]) });
    const result = await crawl([{ kind: 'sitemap', url: `${s.origin}/sitemap.xml` }], { known: new Map(), limits: FAST });
    expect(result.fetched.map((p) => [p.url, p.title])).toEqual([[`${s.origin}/help/new`, 'New home']]);
    expect(result.failures.map((f) => [f.url, f.reason]).sort()).toEqual([
      [`${s.origin}/help/away`, 'redirect-off-origin'],
      [`${s.origin}/help/loop`, 'too-many-redirects'],
    ]);
    expect(other.requests).toEqual([]);
  });

  it('fetches a page once however many links lead to it through redirects, and is not led out of its scope', async () => {
    const s = await site({
      '/help/old': { status: 301, headers: { location: '/help/new' } },
      '/help/new': { body: articlePage('New home', { Moved: 'This article moved here from its old address last spring.' }) },
      '/help/jump': { status: 302, headers: { location: '/blog/post' } },
      '/blog/post': { body: articlePage('Blog', { Post: 'A blog post that a help-centre source must not index.' }) },
    });
    s.set('/help/', {
      body: articlePage('Start', { Links: 'The start page of the help centre, with its links.' }).replace(
        '</article>',
        '<a href="/help/old">Old</a> <a href="/help/new">New</a> <a href="/help/jump">Jump</a></article>',
      ),
    });
    const result = await crawl([{ kind: 'page', url: `${s.origin}/help/` }], { known: new Map(), limits: FAST });
    expect(result.fetched.map((p) => p.url).sort()).toEqual([`${s.origin}/help/`, `${s.origin}/help/new`]);
    expect(s.requests.filter((r) => r.path === '/help/new')).toHaveLength(1);
    expect(s.requests.some((r) => r.path === '/blog/post')).toBe(false);
    expect(result.failures.map((f) => [f.url, f.reason])).toEqual([[`${s.origin}/help/jump`, 'redirect-off-origin']]);
  });

  it('reads HTML, markdown and plain text, and refuses other types, oversized and slow pages, each failure once', async () => {
    const s = await site({
      '/docs/guide.md': { type: 'text/markdown', body: '# Guide\n\nIntro text of the guide.\n\n## Install\n\nRun the installer and follow the steps it shows.\n' },
      '/docs/notes.txt': { type: 'text/plain', body: 'Release notes\n\nVersion two fixes the sign-in loop on old browsers.' },
      '/docs/logo.png': { type: 'image/png', body: Buffer.from([0x89, 0x50, 0x4e, 0x47]) },
      '/docs/manual.pdf': { type: 'application/pdf', body: '%PDF-1.7' },
      '/docs/huge': { body: `<html><body><p>${'word '.repeat(40_000)}</p></body></html>` },
      '/docs/slow': { hang: true },
    });
    const urls = ['guide.md', 'notes.txt', 'logo.png', 'manual.pdf', 'huge', 'slow', 'guide.md'].map((p) => `${s.origin}/docs/${p}`);
    s.set('/sitemap.xml', { type: XML, body: sitemap(urls) });
    const failures: CrawlFailure[] = [];
    const started = Date.now();
    const result = await crawl([{ kind: 'sitemap', url: `${s.origin}/sitemap.xml` }], { known: new Map(), limits: { ...FAST, timeoutMs: 500 }, onFailure: (f) => failures.push(f) });
    expect(Date.now() - started).toBeLessThan(10_000);
    const guide = result.fetched.find((p) => p.url.endsWith('guide.md'));
    expect(guide?.title).toBe('Guide');
    expect(guide?.passages.map((p) => p.text).join('\n')).toContain('Intro text of the guide.\n\nInstall\n\nRun the installer and follow the steps it shows.');
    expect(result.fetched.find((p) => p.url.endsWith('notes.txt'))?.title).toBe('Release notes');
    expect(Object.fromEntries(failures.map((f) => [f.url.slice(s.origin.length), f.reason]))).toEqual({
      '/docs/logo.png': 'unsupported-type',
      '/docs/manual.pdf': 'unsupported-type',
      '/docs/huge': 'too-large',
      '/docs/slow': 'timeout',
    });
    expect(failures).toHaveLength(4);
  });

  it('stops at the page limit and says so', async () => {
    const s = await site({});
    const urls = Array.from({ length: 6 }, (_, i) => `${s.origin}/p${i}`);
    for (const [i, url] of urls.entries()) s.set(new URL(url).pathname, { body: articlePage(`Page ${i}`, { A: `Page number ${i} of the site, with a few more words.` }) });
    s.set('/sitemap.xml', { type: XML, body: sitemap(urls) });
    const result = await crawl([{ kind: 'sitemap', url: `${s.origin}/sitemap.xml` }], { known: new Map(), limits: { ...FAST, maxPages: 4 } });
    expect(result.fetched).toHaveLength(4);
    expect(result.failures.filter((f) => f.reason === 'max-pages')).toHaveLength(2);
  });

  it('lists only so many URLs turned away, however many a hostile site links or its sitemaps list', async () => {
    const s = await site({});
    // Each page links to 5,000 pages of its own that exist nowhere (a calendar, a search, a trap),
    // and a sitemap index lists 300 sitemaps of 1,000 off-site pages each.
    const links = (n: number) => Array.from({ length: 5_000 }, (_, i) => `<a href="/p${n}-${i}">${i}</a>`).join(' ');
    for (let n = 0; n < 3; n++) s.set(`/p${n}`, { body: articlePage(`Page ${n}`, { A: `Page ${n}, with words enough to count. ${links(n)}` }) });
    const elsewhere = sitemap(Array.from({ length: 1_000 }, (_, i) => `https://elsewhere.example/${i}`));
    for (let i = 0; i < 300; i++) s.set(`/s${i}.xml`, { type: XML, body: elsewhere });
    s.set('/index.xml', { type: XML, body: sitemap(Array.from({ length: 300 }, (_, i) => `${s.origin}/s${i}.xml`), true) });
    const told: CrawlFailure[] = [];
    const result = await crawl([{ kind: 'page', url: `${s.origin}/p0` }, { kind: 'sitemap', url: `${s.origin}/index.xml` }], {
      known: new Map(),
      limits: { ...FAST, maxPages: 2, maxBytes: 1024 * 1024 },
      onFailure: (failure) => told.push(failure),
    });
    expect(result.fetched.map((p) => p.url)).toEqual([`${s.origin}/p0`]);
    // A few hundred listed and logged, not 5,000 + 300,000; the rest counted by reason.
    expect(result.failures.length).toBeLessThanOrEqual(1_000);
    expect(told.length).toBe(result.failures.length);
    const counted = (reason: string) => result.failures.filter((f) => f.reason === reason).length + (result.unlisted[reason as keyof typeof result.unlisted] ?? 0);
    expect(counted('max-pages')).toBeGreaterThanOrEqual(4_999);
    // Once no page can be added, no more sitemaps are asked for.
    expect(s.requests.filter((r) => r.path.startsWith('/s')).length).toBeLessThan(300);
  }, 60_000);

  it('on a refresh asks conditionally, keeps what did not change, takes what changed, and drops what is gone (404, 410)', async () => {
    const s = await site({});
    const article = (t: string, v: string) => articlePage(t, { Body: `Version ${v} of the ${t} article, with enough words in it.` });
    s.set('/a', (r) => (r.headers['if-none-match'] === '"a1"' ? { status: 304 } : { body: article('a', '1'), headers: { etag: '"a1"' } }));
    s.set('/b', (r) => (r.headers['if-modified-since'] === 'Mon, 01 Jun 2026 10:00:00 GMT' ? { status: 304 } : { body: article('b', '1'), headers: { 'last-modified': 'Mon, 01 Jun 2026 10:00:00 GMT' } }));
    s.set('/c', { body: article('c', '1'), headers: { etag: '"c1"' } });
    s.set('/d', { body: article('d', '1') });
    s.set('/e', { body: article('e', '1') });
    s.set('/sitemap.xml', { type: XML, body: sitemap(['/a', '/b', '/c', '/d', '/e'].map((p) => s.origin + p)) });
    const source = [{ kind: 'sitemap' as const, url: `${s.origin}/sitemap.xml` }];
    const first = await crawl(source, { known: new Map(), limits: FAST });
    expect(first.fetched).toHaveLength(5);

    s.set('/c', (r) => (r.headers['if-none-match'] === '"c1"' ? { body: article('c', '2'), headers: { etag: '"c2"' } } : { status: 500 }));
    s.set('/d', { status: 404 });
    s.set('/e', { status: 410 });
    s.requests.length = 0;
    const known = new Map(first.fetched.map((p) => [p.url, p]));
    const second = await crawl(source, { known, limits: FAST });

    const asked = Object.fromEntries(s.requests.map((r) => [r.path, [r.headers['if-none-match'], r.headers['if-modified-since']]]));
    expect(asked['/a']).toEqual(['"a1"', undefined]);
    expect(asked['/b']).toEqual([undefined, 'Mon, 01 Jun 2026 10:00:00 GMT']);
    expect(second.kept.sort()).toEqual([`${s.origin}/a`, `${s.origin}/b`]);
    expect(second.fetched.map((p) => [p.url, p.etag])).toEqual([[`${s.origin}/c`, '"c2"']]);
    expect(second.fetched[0]?.hash).not.toBe(known.get(`${s.origin}/c`)?.hash);
    expect(second.fetched[0]?.passages[0]?.text).toContain('Version 2');
    expect(second.gone.sort()).toEqual([`${s.origin}/d`, `${s.origin}/e`]);
  });

  it('keeps a known page whose server fails for now (5xx, timeout), and crawls on along the links it had', async () => {
    const s = await site({
      '/a': { body: articlePage('A', { B: 'The text of page A, long enough to be a passage.' }).replace('</article>', '<a href="/b">B</a></article>') },
      '/b': { body: articlePage('B', { C: 'The text of page B, only linked from page A.' }) },
    });
    const source = [{ kind: 'page' as const, url: `${s.origin}/a` }];
    const first = await crawl(source, { known: new Map(), limits: FAST });
    expect(first.fetched.map((p) => p.url)).toEqual([`${s.origin}/a`, `${s.origin}/b`]);
    s.set('/a', { status: 503 });
    const second = await crawl(source, { known: new Map(first.fetched.map((p) => [p.url, p])), limits: FAST });
    expect(second.kept).toEqual([`${s.origin}/a`]);
    expect(second.fetched.map((p) => p.url)).toEqual([`${s.origin}/b`]);
    expect(second.gone).toEqual([]);
    expect(second.failures.find((f) => f.url === `${s.origin}/a`)?.reason).toBe('http-error');
  });
});
