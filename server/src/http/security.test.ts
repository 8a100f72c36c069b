import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_KEY, startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';

/**
 * Issue 5's security list, beside the CORS and header tests in http-edge.test.ts: the key is
 * found nowhere (bundle, responses, headers, logs), there is no way to list conversations, and
 * `Vary: Origin` is on every API answer, streams and errors included.
 */
const WIDGET_DIR = fileURLToPath(new URL('../../../widget/', import.meta.url));
const TOKEN = 'metrics-token-0123456789abcdef';

let upstream: MockUpstream;
let server: TestServer;
let bundleDir: string;
const seen: string[] = [];

/** fetch that keeps every status, header and body for the canary sweep at the end. */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(server.url + path, init);
  const body = await response.clone().text();
  seen.push(`${response.status} ${JSON.stringify([...response.headers])} ${body}`);
  return response;
}

beforeAll(() => {
  // The real widget build, run with the key in its environment the way a careless CI might: the
  // bundle must not pick it up (only `VITE_`-prefixed variables the code reads could be inlined).
  bundleDir = mkdtempSync(join(tmpdir(), 'chatdrop-bundle-'));
  const built = spawnSync(join(WIDGET_DIR, 'node_modules/.bin/vite'), ['build', '--outDir', bundleDir, '--emptyOutDir', '--logLevel', 'error'], {
    cwd: WIDGET_DIR,
    env: { ...process.env, OPENAI_API_KEY: CANARY_KEY, VITE_OPENAI_API_KEY: CANARY_KEY, CHATDROP_API_KEY: CANARY_KEY },
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`widget build failed:\n${built.stdout}${built.stderr}`);
}, 120_000);
beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({
    upstream,
    widgetDir: bundleDir,
    env: { ALLOWED_ORIGINS: 'https://shop.example.com', CHATDROP_METRICS_TOKEN: TOKEN },
  });
});
afterAll(async () => {
  await server.close();
  await upstream.close();
  rmSync(bundleDir, { recursive: true, force: true });
});

describe('conversation ids are the only credential', () => {
  it('offers no listing endpoint: GET /api/conversations is 404 like any unknown path', async () => {
    for (const path of ['/api/conversations', '/api/conversations/', '/api/conversations?all=1', '/api/chat']) {
      const response = await call(path);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'not-found', message: expect.any(String) } });
    }
  });

  it('answers the same 404 for an unknown id, a malformed one and a deleted one', async () => {
    upstream.script({ kind: 'deltas', deltas: ['ok'] });
    const start = (await readEvents(await postChat(server.url, { message: 'Hi' }))).events[0]!.event;
    if (start.type !== 'message-start') throw new Error('no start');
    expect((await call(`/api/conversations/${start.conversationId}`, { method: 'DELETE' })).status).toBe(204);
    const bodies = new Set<string>();
    for (const id of [start.conversationId, start.conversationId.slice(0, -1) + 'A', 'x', '%00', "' OR 1=1 --"]) {
      const response = await call(`/api/conversations/${encodeURIComponent(id)}`);
      expect(response.status).toBe(404);
      bodies.add(await response.text());
    }
    expect(bodies.size).toBe(1);
  });
});

describe('Vary: Origin', () => {
  it('is on streams, JSON answers and errors of the API', async () => {
    upstream.script({ kind: 'deltas', deltas: ['ok'] });
    const stream = await postChat(server.url, { message: 'Hi' }, { headers: { 'Content-Type': 'application/json', Origin: 'https://shop.example.com' } });
    expect(stream.headers.get('vary')).toMatch(/Origin/);
    expect(stream.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    await readEvents(stream);
    for (const path of ['/api/config', '/api/nope', '/api/conversations/unknown']) {
      expect((await call(path, { headers: { Origin: 'https://elsewhere.example' } })).headers.get('vary'), path).toMatch(/Origin/);
    }
  });
});

describe('the API key', () => {
  it('is not in any file of the widget built with it in the environment', () => {
    const { files } = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as { files: string[] };
    expect(files.length).toBeGreaterThan(1);
    for (const file of files) {
      const code = readFileSync(join(bundleDir, file), 'utf8');
      expect(code.length).toBeGreaterThan(100);
      expect(code.includes(CANARY_KEY), file).toBe(false);
      expect(code.includes('canary-7f3a'), file).toBe(false);
    }
  });

  it('appears in no response, header or log line, even when the upstream quotes it back', async () => {
    upstream.script(
      { kind: 'error', status: 401, message: `Incorrect API key provided: ${CANARY_KEY}.`, code: 'invalid_api_key' },
      { kind: 'error', status: 500, message: `Upstream crashed with key ${CANARY_KEY}`, type: 'server_error' },
      { kind: 'deltas', deltas: ['Fine.'] },
    );
    for (let i = 0; i < 3; i++) await readEvents(await call('/api/chat', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: `Turn ${i}` }) }));
    await call('/widget.js');
    await call('/api/config');
    await call('/healthz');
    await call('/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } });
    await call('/api/chat', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"message":' });
    // The key went upstream (so the test would see it if it leaked) ...
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${CANARY_KEY}`);
    // ... and nowhere else.
    expect(seen.length).toBeGreaterThan(10);
    for (const text of seen) expect(text).not.toContain(CANARY_KEY);
    for (const line of server.logs) expect(line).not.toContain(CANARY_KEY);
    // Masked, not missing: the upstream's messages are logged with the key cut out.
    expect(server.logs.join('\n')).toContain('Incorrect API key provided: [redacted]');
  });
});
