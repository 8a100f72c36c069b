import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { writeWidgetBuild } from '../test/widget-build.js';

/** A GET (or HEAD) that keeps the raw bytes: fetch() would decompress them behind our back. */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(server.url + path, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const LOADER = `(function(){/* the loader */console.log(${JSON.stringify('x'.repeat(2000))})})();\n`;
const PANEL = `export{a as mount};var a=()=>${JSON.stringify('panel '.repeat(400))};\n`;
const PANEL_FILE = 'widget/panel-AbC_12-x.js';

let upstream: MockUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({ upstream });
  // As the build writes it: the files, their brotli and gzip copies, then the manifest.
  writeWidgetBuild(server.widgetDir, { 'widget.js': LOADER, [PANEL_FILE]: PANEL });
  writeFileSync(join(server.widgetDir, `${PANEL_FILE}.br`), brotliCompressSync(PANEL));
  writeFileSync(join(server.widgetDir, `${PANEL_FILE}.gz`), gzipSync(PANEL));
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

describe('the widget files', () => {
  it('sends brotli, gzip or the plain file as Accept-Encoding asks, weights and q=0 honoured', async () => {
    const cases: [string | undefined, string | undefined][] = [
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip, deflate', 'gzip'],
      ['br;q=0, gzip', 'gzip'],
      ['gzip;q=0.8, br;q=0.5', 'gzip'],
      ['br;q=0, gzip;q=0', undefined],
      ['identity', undefined],
      [undefined, undefined],
    ];
    for (const path of ['/widget.js', `/${PANEL_FILE}`]) {
      const plain = path === '/widget.js' ? LOADER : PANEL;
      for (const [accept, coding] of cases) {
        const res = await get(path, accept === undefined ? {} : { 'Accept-Encoding': accept });
        expect(res.status, `${path} ${accept}`).toBe(200);
        expect(res.headers['content-encoding'], `${path} ${accept}`).toBe(coding);
        expect(res.headers.vary).toMatch(/Accept-Encoding/);
        expect(Number(res.headers['content-length'])).toBe(res.body.length);
        const body = coding === 'br' ? brotliDecompressSync(res.body) : coding === 'gzip' ? gunzipSync(res.body) : res.body;
        expect(body.toString()).toBe(plain);
        if (coding) expect(res.body.length).toBeLessThan(plain.length);
      }
    }
  });

  it('makes a brotli and gzip copy itself when the build has none', async () => {
    // widget.js above was written without its copies.
    const res = await get('/widget.js', { 'Accept-Encoding': 'br' });
    expect(res.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(res.body).toString()).toBe(LOADER);
  });

  it('carries the headers a guest script needs on every coding', async () => {
    for (const accept of ['br', 'gzip', 'identity']) {
      const res = await get(`/${PANEL_FILE}`, { 'Accept-Encoding': accept });
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
      // The panel is imported as a module from other origins: CORS mode.
      expect(res.headers['access-control-allow-origin']).toBe('*');
      // None of helmet's document headers: every embedding page would download them for nothing.
      expect(res.headers['content-security-policy']).toBeUndefined();
      expect(res.headers['x-frame-options']).toBeUndefined();
    }
    // The demo page and the API keep them.
    expect((await get('/api/config')).headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('gives each coding its own strong ETag and answers 304 only to the matching one', async () => {
    const etags = new Map<string, string>();
    for (const accept of ['br', 'gzip', 'identity']) {
      const etag = (await get('/widget.js', { 'Accept-Encoding': accept })).headers.etag as string;
      expect(etag).toMatch(/^"[\w-]+"$/); // strong: no W/
      etags.set(accept, etag);
    }
    expect(new Set(etags.values()).size).toBe(3);
    for (const [accept, etag] of etags) {
      const again = await get('/widget.js', { 'Accept-Encoding': accept, 'If-None-Match': etag });
      expect(again.status, accept).toBe(304);
      expect(again.body.length).toBe(0);
      expect(again.headers.etag).toBe(etag);
      expect(again.headers.vary).toMatch(/Accept-Encoding/);
      expect(again.headers['cache-control']).toBe('public, max-age=300, must-revalidate');
      // Weak comparison (a proxy may have weakened it), and a list naming several codings' tags.
      expect((await get('/widget.js', { 'Accept-Encoding': accept, 'If-None-Match': `W/${etag}` })).status).toBe(304);
      expect((await get('/widget.js', { 'Accept-Encoding': accept, 'If-None-Match': `"other", ${etag}` })).status).toBe(304);
    }
    // The brotli copy's tag does not vouch for the gzip bytes.
    const other = await get('/widget.js', { 'Accept-Encoding': 'gzip', 'If-None-Match': etags.get('br')! });
    expect(other.status).toBe(200);
    expect(other.headers.etag).toBe(etags.get('gzip'));
  });

  it('caches the hashed chunks for a year as immutable, and widget.js for five minutes, revalidated', async () => {
    expect((await get(`/${PANEL_FILE}`)).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    // The loader's retry after a failed import asks with a query of its own: the same file.
    const retried = await get(`/${PANEL_FILE}?retry=2`);
    expect([retried.status, retried.body.toString()]).toEqual([200, PANEL]);
    expect((await get('/widget.js')).headers['cache-control']).toBe('public, max-age=300, must-revalidate');
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await get('/widget.js', { 'Accept-Encoding': 'br' }, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(Number(res.headers['content-length'])).toBeGreaterThan(0);
    expect(res.body.length).toBe(0);
  });

  it('answers 404 for any name the manifest does not list, files on disk included', async () => {
    // On disk in the build folder, but not listed: never served.
    mkdirSync(join(server.widgetDir, 'widget'), { recursive: true });
    writeFileSync(join(server.widgetDir, 'widget/unlisted-12345678.js'), 'secret');
    writeFileSync(join(server.widgetDir, 'widget/panel-AbC_12-x.js.map'), '{}');
    for (const path of [
      '/widget/unlisted-12345678.js',
      `/${PANEL_FILE}.map`,
      `/${PANEL_FILE}.br`,
      '/widget/nope.js',
      '/widget/../manifest.json',
      '/widget/%2e%2e/manifest.json',
      '/widget/..%2fmanifest.json',
      '/widget/',
      '/widget.js.gz',
      '/manifest.json',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.body.toString(), path).not.toContain('secret');
      expect(res.body.toString(), path).not.toContain('"files"');
    }
  });

  it('serves a rebuild without a restart, and keeps the previous build\'s chunks listed', async () => {
    const etag = (await get('/widget.js', { 'Accept-Encoding': 'gzip' })).headers.etag as string;
    const next = 'widget/panel-NeW_9876.js';
    writeWidgetBuild(server.widgetDir, { 'widget.js': `${LOADER}// v2, a longer build\n`, [next]: 'export{};' }, [PANEL_FILE]);
    const rebuilt = await get('/widget.js', { 'Accept-Encoding': 'gzip', 'If-None-Match': etag });
    expect(rebuilt.status).toBe(200);
    expect(gunzipSync(rebuilt.body).toString()).toContain('v2');
    expect((await get(`/${next}`)).status).toBe(200);
    // A page still running the previous loader can still load its panel.
    expect((await get(`/${PANEL_FILE}`)).status).toBe(200);
  });
});

describe('before the widget is built', () => {
  it('answers /widget.js and the chunks with a 404 that says so', async () => {
    const bare = await startTestServer({ upstream, widgetDir: join(server.widgetDir, 'not-built') });
    try {
      for (const path of ['/widget.js', '/widget/panel-x.js']) {
        const res = await fetch(bare.url + path);
        expect(res.status).toBe(404);
        expect(await res.text()).toContain('pnpm build');
      }
    } finally {
      await bare.close();
    }
  });
});
