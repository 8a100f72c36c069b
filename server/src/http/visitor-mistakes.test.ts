import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { inboxFetch, signIn, startInboxServer } from '../test/inbox-server.js';
import { postChat, readEvents } from '../test/read-sse.js';
import type { TestServer } from '../test/test-server.js';

let upstream: MockUpstream;
let server: TestServer;
let cookie: string;

beforeAll(async () => {
  upstream = await startMockUpstream();
  // Port 9 (discard) never answers: the hand-off route is mounted, nothing is delivered.
  server = await startInboxServer({ upstream, env: { CHATDROP_HANDOFF_WEBHOOK: 'http://127.0.0.1:9/hook' } });
  cookie = await signIn(server);
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

/** The request's answer, and the log lines it wrote. */
async function attempt(path: string, init: { method?: string } = {}): Promise<{ status: number; body: unknown; logs: string[] }> {
  const before = server.logs.length;
  const response = await inboxFetch(server, path, { method: init.method ?? 'GET', cookie });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), logs: server.logs.slice(before) };
}

/** A visitor's mistake: the contract's 400, nothing logged as an error, no stack anywhere. */
function expectRefused(result: { status: number; body: unknown; logs: string[] }): void {
  expect(result.status).toBe(400);
  expect(result.body).toEqual({ error: { code: 'bad-request', message: expect.any(String) } });
  for (const line of result.logs) {
    expect(JSON.parse(line).level).toBeLessThan(50);
    expect(line).not.toMatch(/stack|URIError|incorrect header/);
  }
}

describe('a visitor\'s mistakes are 400s, never 500s', () => {
  // Express's router throws a URIError (status 400, but no body-parser `type`) on a path
  // parameter whose %-escapes do not decode.
  for (const path of ['/api/conversations/%E0%A4%A', '/api/chat/%ZZ/stream', '/api/inbox/conversations/%E0%A4%A']) {
    it(`answers a malformed %-escape in a path parameter with 400: ${path}`, async () => {
      expectRefused(await attempt(path));
    });
  }
  it('answers a malformed %-escape in a DELETE\'s path parameter with 400', async () => {
    expectRefused(await attempt('/api/inbox/conversations/%ZZ', { method: 'DELETE' }));
  });

  // body-parser inflates gzip, deflate and br bodies; one that does not decode is zlib's error,
  // marked 400 but with no `type`.
  for (const [path, encoding] of [['/api/handoff', 'gzip'], ['/api/inbox/session', 'deflate'], ['/api/chat', 'br']] as const) {
    it(`answers a ${encoding} body that does not decode with 400: POST ${path}`, async () => {
      const before = server.logs.length;
      const response = await fetch(server.url + path, {
        method: 'POST',
        headers: { Origin: server.url, Cookie: cookie, 'Content-Type': 'application/json', 'Content-Encoding': encoding },
        body: 'not compressed at all',
      });
      const text = await response.text();
      expectRefused({ status: response.status, body: JSON.parse(text), logs: server.logs.slice(before) });
    });
  }
});

describe('the request log', () => {
  it('keeps a conversation id out of the line of a request no route took', async () => {
    upstream.script({ kind: 'deltas', deltas: ['Hi'] });
    const start = (await readEvents(await postChat(server.url, { message: 'Hello' }))).events[0]?.event;
    if (start?.type !== 'message-start') throw new Error('no message-start');
    for (const path of [`/api/conversations/${start.conversationId}/`, `/api/conversations/${start.conversationId}/more`, `/api/chat/${start.messageId}/stream/`]) {
      const response = await fetch(server.url + path);
      expect(response.status).toBe(404);
      const id = response.headers.get('x-request-id');
      await expect.poll(() => server.logs.some((line) => line.includes(`"reqId":"${id}"`) && line.includes('request done'))).toBe(true);
      const lines = server.logs.filter((line) => line.includes(`"reqId":"${id}"`));
      for (const line of lines) expect(line).not.toContain(start.conversationId);
      for (const line of lines) expect(line).not.toContain(start.messageId);
    }
  });
});
