import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IndexedPage } from './crawl.js';
import { chunk } from './chunk.js';
import { hashPassages } from './crawl.js';
import type { CrawlRecord, KnowledgeStore } from './knowledge-store.js';
import { terms } from './tokenize.js';

const record = (over: Partial<CrawlRecord> = {}): CrawlRecord => ({
  startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:01:00.000Z', sourcesKey: 'k', fetched: 0, unchanged: 0, removed: 0, failures: {}, ...over,
});

export function page(url: string, title: string, sections: Record<string, string>, etag?: string): IndexedPage {
  const passages = chunk({ title, sections: Object.entries(sections).map(([heading, text]) => ({ heading, text })) }, url);
  return { url, title, etag, links: [], hash: hashPassages(passages), passages };
}

const reset = page('https://h.example/reset', 'Reset your password', { 'On the web': 'Choose Forgot password on the sign-in page and follow the emailed link within thirty minutes of asking for it.' }, '"r1"');
const invoices = page('https://h.example/invoices', 'Invoices', { Download: 'Owners download every invoice as a PDF from the billing page of the dashboard, month by month.' });
const domains = page('https://h.example/domains', 'Custom domains', { CNAME: 'Create a CNAME record from www to our edge, and we issue a certificate for the domain automatically.' });

/**
 * What every knowledge index backend must do (SQLite: sqlite-knowledge-store.test.ts; Redis:
 * redis-knowledge-store.test.ts): commit a crawl's outcome as a whole, rank by BM25 on the same
 * terms, give term frequencies for the relevance floor, keep the crawl record, lend the crawl lock.
 */
export function knowledgeStoreSuite(name: string, open: () => Promise<{ store: KnowledgeStore; other?: () => Promise<KnowledgeStore>; close(): Promise<void> }>): void {
  describe(`${name} knowledge store`, () => {
    let env: Awaited<ReturnType<typeof open>>;
    let store: KnowledgeStore;
    beforeEach(async () => {
      env = await open();
      store = env.store;
    });
    afterEach(async () => env.close());

    it('starts empty', async () => {
      expect(await store.hasIndex()).toBe(false);
      expect((await store.pages()).size).toBe(0);
      expect((await store.search(terms('password'), 5)).passages).toEqual([]);
      expect(await store.lastCrawl()).toBeUndefined();
    });

    it('finds candidate passages by their terms, with term frequencies, the total and the average length', async () => {
      await store.commit({ fetched: [reset, invoices, domains], keep: [], record: record({ fetched: 3 }) });
      expect(await store.hasIndex()).toBe(true);
      const hits = await store.search([...terms('download invoice pdf'), ...terms('password')], 5);
      expect(hits.passages.map((p) => p.url).sort()).toEqual(['https://h.example/invoices', 'https://h.example/reset']);
      const invoice = hits.passages.find((p) => p.url === 'https://h.example/invoices');
      expect(invoice).toMatchObject({ title: 'Invoices', heading: 'Download' });
      expect(invoice?.text).toContain('as a PDF');
      expect(invoice?.tokens).toBeGreaterThan(10);
      expect(invoice?.terms.split(' ')).toContain('invoic');
      expect(hits.averageLength).toBeGreaterThan(10);
      // Passages holding every term come first.
      expect((await store.search(terms('invoice pdf'), 5)).passages.map((p) => p.url)).toEqual(['https://h.example/invoices']);
      expect(hits.total).toBe(3);
      expect(hits.documentFrequency.get('invoic')).toBe(1);
      expect(hits.documentFrequency.get('password')).toBe(1);
      expect(hits.documentFrequency.has('pdf')).toBe(true);
      const meta = (await store.pages()).get('https://h.example/reset');
      expect(meta).toMatchObject({ title: 'Reset your password', etag: '"r1"', hash: reset.hash, passages: 1 });
      expect(await store.lastCrawl()).toEqual(record({ fetched: 3 }));
    });

    it('makes the index exactly what a commit says: kept pages stay, missing ones go, changed ones change', async () => {
      await store.commit({ fetched: [reset, invoices, domains], keep: [], record: record() });
      const newInvoices = page('https://h.example/invoices', 'Invoices', { Receipts: 'Receipts now arrive by email to the billing address.' });
      await store.commit({ fetched: [newInvoices, { ...reset, etag: '"r2"' }], keep: [], record: record({ endedAt: '2026-01-02T00:00:00.000Z' }) });
      expect([...(await store.pages()).keys()].sort()).toEqual(['https://h.example/invoices', 'https://h.example/reset']);
      expect((await store.pages()).get('https://h.example/reset')?.etag).toBe('"r2"');
      expect((await store.search(terms('certificate cname'), 5)).passages).toEqual([]);
      expect((await store.search(terms('pdf'), 5)).passages).toEqual([]);
      expect((await store.search(terms('receipts email'), 5)).passages[0]?.heading).toBe('Receipts');
      await store.commit({ fetched: [], keep: ['https://h.example/reset'], record: record() });
      expect([...(await store.pages()).keys()]).toEqual(['https://h.example/reset']);
      expect((await store.search(terms('password'), 5)).total).toBe(1);
    });

    it('remembers the URLs that redirected to each page, as the last commit says, kept pages too', async () => {
      const from = (url: string) => new Map([[url, ['https://h.example/old-reset', 'https://h.example/pw']]]);
      await store.commit({ fetched: [reset, invoices], keep: [], redirectedFrom: from('https://h.example/reset'), record: record() });
      const first = await store.pages();
      expect(first.get('https://h.example/reset')?.redirectedFrom).toEqual(['https://h.example/old-reset', 'https://h.example/pw']);
      expect(first.get('https://h.example/invoices')?.redirectedFrom).toEqual([]);
      // Kept as it was (a 304), now reached from one old URL only; a page fetched again without any.
      await store.commit({ fetched: [invoices], keep: ['https://h.example/reset'], redirectedFrom: new Map([['https://h.example/reset', ['https://h.example/pw']]]), record: record() });
      expect((await store.pages()).get('https://h.example/reset')?.redirectedFrom).toEqual(['https://h.example/pw']);
      await store.commit({ fetched: [], keep: ['https://h.example/reset', 'https://h.example/invoices'], record: record() });
      expect([...(await store.pages()).values()].map((p) => p.redirectedFrom)).toEqual([[], []]);
      expect((await store.search(terms('password'), 5)).passages).toHaveLength(1);
    });

    it('keeps embeddings with their passages', async () => {
      const vector = Float32Array.from([0.6, 0.8]);
      await store.commit({ fetched: [reset, invoices], keep: [], embeddings: new Map([['https://h.example/reset', [vector]]]), record: record() });
      const embedded = await store.embedded();
      expect(embedded.map((p) => p.url)).toEqual(['https://h.example/reset']);
      expect([...(embedded[0]?.embedding ?? [])].map((x) => Math.round(x * 10) / 10)).toEqual([0.6, 0.8]);
    });

    it('lends the crawl lock to one holder at a time, until it is released', async () => {
      expect(await store.lock('a', 60_000)).toBe(true);
      expect(await store.lock('a', 60_000)).toBe(true); // renewing
      if (env.other !== undefined) {
        const other = await env.other();
        expect(await other.lock('b', 60_000)).toBe(false);
        await store.unlock('b'); // not the holder: nothing happens
        expect(await other.lock('b', 60_000)).toBe(false);
        await store.unlock('a');
        expect(await other.lock('b', 60_000)).toBe(true);
      }
      expect(await store.ping()).toBe(true);
    });
  });
}
