import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseConfig } from '../config.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { articlePage, startStaticSite, type StaticSite } from '../test/static-site.js';
import { createUpstreamClient } from '../upstream/upstream-client.js';
import { UpstreamError } from '../upstream/upstream.js';
import { Embedder } from './embedder.js';
import { Knowledge } from './knowledge.js';
import { retrieve } from './retrieve.js';
import { SqliteKnowledgeStore } from './sqlite-knowledge-store.js';

let upstream: MockUpstream;
let site: StaticSite;
beforeAll(async () => {
  upstream = await startMockUpstream();
  site = await startStaticSite({
    '/help/reset': { body: articlePage('Reset your password', { 'On the web': 'Choose Forgot password on the sign-in page and open the emailed link.' }) },
    '/help/domains': { body: articlePage('Custom domains', { CNAME: 'Create a CNAME record at your DNS provider pointing to our edge.' }) },
  });
  site.set('/sitemap.xml', { type: 'application/xml', body: `<urlset><url><loc>${site.origin}/help/reset</loc></url><url><loc>${site.origin}/help/domains</loc></url></urlset>` });
});
afterAll(async () => {
  await site.close();
  await upstream.close();
});

describe('embeddings through the upstream (CHATDROP_EMBEDDINGS_MODEL)', () => {
  it('embeds every passage when indexing and each question when retrieving, with the real openai SDK, and fuses both rankings', async () => {
    const config = parseConfig({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.baseUrl, CHATDROP_UPSTREAM_RETRIES: '0' });
    const embedder = new Embedder({ openai: createUpstreamClient(config), model: 'text-embedding-3-small' });
    const store = new SqliteKnowledgeStore({ path: ':memory:' });
    const knowledge = new Knowledge({ sources: [{ kind: 'sitemap', url: `${site.origin}/sitemap.xml` }], store, log: pino({ level: 'silent' }), refreshMs: 3_600_000, limits: { delayMs: 0 }, embedder });
    try {
      await knowledge.crawlNow();
      const indexing = upstream.embeddingRequests.map((r) => r.body as { model: string; input: string[] });
      expect(indexing.every((b) => b.model === 'text-embedding-3-small')).toBe(true);
      expect(indexing.flatMap((b) => b.input).some((text) => text.includes('CNAME record'))).toBe(true);
      expect((await store.embedded()).length).toBe(2);

      // A misspelt question: too little of it is in the index for full-text ranking, but its
      // letters are close to the page's (the mock's vectors are character trigrams).
      expect(await retrieve(store, { question: 'forgot pasword', history: [] })).toEqual([]);
      const asked = upstream.embeddingRequests.length;
      const found = await knowledge.retrieve({ question: 'forgot pasword', history: [] });
      expect(upstream.embeddingRequests.length).toBe(asked + 1);
      expect(found[0]?.url).toBe(`${site.origin}/help/reset`);
      // And a question nothing covers still gets nothing.
      expect(await knowledge.retrieve({ question: 'Who won the football world cup?', history: [] })).toEqual([]);
    } finally {
      await knowledge.close();
      await store.close();
    }
  });

  it('goes on with full-text ranking alone when the embeddings endpoint fails', async () => {
    const config = parseConfig({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', CHATDROP_UPSTREAM_RETRIES: '0' });
    const embedder = new Embedder({ openai: createUpstreamClient(config), model: 'm', queryTimeoutMs: 2_000 });
    const store = new SqliteKnowledgeStore({ path: ':memory:' });
    const knowledge = new Knowledge({ sources: [{ kind: 'sitemap', url: `${site.origin}/sitemap.xml` }], store, log: pino({ level: 'silent' }), refreshMs: 3_600_000, limits: { delayMs: 0 }, embedder });
    try {
      await knowledge.crawlNow();
      expect((await store.pages()).size).toBe(2);
      expect((await knowledge.retrieve({ question: 'How do I add a CNAME record?', history: [] }))[0]?.url).toBe(`${site.origin}/help/domains`);
    } finally {
      await knowledge.close();
      await store.close();
    }
  });
});

describe('an embeddings endpoint that fails', () => {
  it('fails with a detail for the log that is clipped and has no key, whatever the body (an HTML page quoting the key)', async () => {
    const key = 'sk-proj-secret0123456789abcdefghijklmn';
    const page = `<html><body>${'x'.repeat(200_000)} ${key}</body></html>`;
    const server = createServer((_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end(page));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const config = parseConfig({ OPENAI_API_KEY: key, OPENAI_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, CHATDROP_UPSTREAM_RETRIES: '0' });
      const embedder = new Embedder({ openai: createUpstreamClient(config), model: 'text-embedding-3-small' });
      const failure = await embedder.embed(['a question']).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(UpstreamError);
      const { detail } = failure as UpstreamError;
      expect(detail.length).toBeLessThan(1_000);
      expect(detail).not.toContain(key);
    } finally {
      server.close();
    }
  });
});
