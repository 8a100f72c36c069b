import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { startTestServer, type TestServer } from '../test/test-server.js';

/**
 * A proxy in front guards paths byte for byte (nginx's `location = /metrics`), so the app must
 * answer exactly the paths it names and no other spelling of them: no case folding, no optional
 * trailing slash. (Through the real nginx: server/deploy/scale-out.test.ts.)
 */
const TOKEN = 'metrics-token-0123456789abcdef';
let upstream: MockUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({ upstream, env: { CHATDROP_METRICS_TOKEN: TOKEN } });
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(server.url + path, { headers });

describe('routing', () => {
  it('serves /metrics only as written: /METRICS, /Metrics and /metrics/ are unknown paths', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const metrics = await get('/metrics', auth);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# HELP');
    for (const path of ['/METRICS', '/Metrics', '/metrics/', '/METRICS/', '/metrics//']) {
      const response = await get(path, auth);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).not.toContain('# HELP');
    }
  });

  it('answers other spellings of the API and health paths with 404', async () => {
    expect((await get('/api/config')).status).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/widget.js')).status).toBe(200);
    for (const path of ['/API/config', '/api/CONFIG', '/api/config/', '/Api/models', '/healthz/', '/HEALTHZ', '/Widget.js', '/widget.js/']) {
      expect((await get(path)).status, path).toBe(404);
    }
  });

  it('still serves every path the widget calls', async () => {
    upstream.script({ kind: 'deltas', deltas: ['Fine.'] });
    const { events } = await readEvents(await postChat(server.url, { message: 'Hi' }));
    const start = events[0]!.event;
    if (start.type !== 'message-start') throw new Error('no message-start');
    expect((await get(`/api/chat/${start.messageId}/stream`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/chat/${start.messageId}/stop`, { method: 'POST' })).status).toBe(204);
    expect((await get(`/api/conversations/${start.conversationId}`)).status).toBe(200);
    const feedback = await fetch(`${server.url}/api/feedback`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ conversationId: start.conversationId, messageId: start.messageId, rating: 'up' }),
    });
    expect(feedback.status).toBe(204);
    expect((await fetch(`${server.url}/api/conversations/${start.conversationId}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('makes every router of the app strict and case-sensitive, so a route added later is too', () => {
    const routers: { path: string; caseSensitive: unknown; strict: unknown }[] = [];
    const walk = (router: { stack: { handle: unknown; matchers?: unknown }[]; caseSensitive?: unknown; strict?: unknown }, path: string): void => {
      routers.push({ path, caseSensitive: router.caseSensitive, strict: router.strict });
      for (const [index, layer] of router.stack.entries()) {
        const handle = layer.handle as { stack?: unknown };
        if (Array.isArray(handle.stack)) walk(handle as Parameters<typeof walk>[0], `${path} > ${index}`);
      }
    };
    walk((server.app as Express & { router: Parameters<typeof walk>[0] }).router, 'app');
    expect(routers.length).toBeGreaterThan(5);
    for (const router of routers) expect(router, router.path).toMatchObject({ caseSensitive: true, strict: true });
  });
});
