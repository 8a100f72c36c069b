import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';

let upstream: MockUpstream;

beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  await upstream.close();
});

async function withServer(env: Record<string, string>, body: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startTestServer({ upstream, env });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

const TOKEN = 'metrics-token-0123456789abcdef';
const MARKER = 'zebra-marker-4711';

const parsedLogs = (s: TestServer): Record<string, unknown>[] => s.logs.map((line) => JSON.parse(line) as Record<string, unknown>);

/**
 * The request line is written when the response closes, which the client may see a moment after
 * it has read the answer: wait for that event (with a generous cap), never for a fixed time.
 */
async function requestLinesFor(s: TestServer, count: number): Promise<void> {
  await expect.poll(() => parsedLogs(s).filter((l) => l.msg === 'request done').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(count);
}

/** Reads one sample's value from Prometheus text, e.g. `chatdrop_chat_requests_total{outcome="stop"}`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('GET /metrics', () => {
  it('is not there without CHATDROP_METRICS_TOKEN, nor with a wrong or missing token', () =>
    withServer({}, async (s) => {
      expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    }).then(() =>
      withServer({ CHATDROP_METRICS_TOKEN: TOKEN }, async (s) => {
        expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
        expect((await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}x` } })).status).toBe(404);
        expect((await fetch(`${s.url}/metrics`, { headers: { Authorization: TOKEN } })).status).toBe(404);
      }),
    ));

  it('counts requests by outcome, tokens, time to first token, duration, upstream errors, active streams and budget used', () =>
    withServer({ CHATDROP_METRICS_TOKEN: TOKEN, CHATDROP_DAILY_TOKEN_BUDGET: '1000000', CHATDROP_MAX_STREAMS_PER_IP: '1' }, async (s) => {
      upstream.script(
        { kind: 'deltas', deltas: ['Hi'], usage: { prompt: 11, completion: 7 } },
        { kind: 'error', status: 503, message: 'down' },
        { kind: 'deltas', deltas: ['Still going ', 'never sent'], hangAfter: 1 },
      );
      await readEvents(await postChat(s.url, { message: 'One' }));
      await readEvents(await postChat(s.url, { message: 'Two' }));
      const refused = await postChat(s.url, { message: '' });
      expect(refused.status).toBe(400);
      const browser = new AbortController();
      const open = await postChat(s.url, { message: 'Three' }, { signal: browser.signal });
      expect(open.status).toBe(200);
      expect((await postChat(s.url, { message: 'Four' })).status).toBe(429);
      // A refused request counts when its response has closed, just after the client has the answer.
      const scrape = (): Promise<string> => fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.text());
      const refusals = async (): Promise<(number | undefined)[]> => {
        const text = await scrape();
        return [sample(text, 'chatdrop_chat_requests_total{outcome="bad-request"}'), sample(text, 'chatdrop_chat_requests_total{outcome="busy"}')];
      };
      await expect.poll(refusals, { timeout: 10_000 }).toEqual([1, 1]);

      const response = await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      expect(sample(text, 'chatdrop_chat_requests_total{outcome="stop"}')).toBe(1);
      expect(sample(text, 'chatdrop_chat_requests_total{outcome="error"}')).toBe(1);
      expect(sample(text, 'chatdrop_chat_requests_total{outcome="bad-request"}')).toBe(1);
      expect(sample(text, 'chatdrop_chat_requests_total{outcome="busy"}')).toBe(1);
      expect(sample(text, 'chatdrop_active_streams')).toBe(1);
      expect(sample(text, 'chatdrop_tokens_total{direction="in",model="fast"}')).toBeGreaterThanOrEqual(11);
      expect(sample(text, 'chatdrop_tokens_total{direction="out",model="fast"}')).toBe(7); // the failed reply output nothing
      expect(sample(text, 'chatdrop_upstream_errors_total{kind="upstream-unavailable",status="503"}')).toBe(1);
      expect(sample(text, 'chatdrop_time_to_first_token_seconds_count')).toBe(1);
      expect(sample(text, 'chatdrop_reply_duration_seconds_count')).toBe(2);
      expect(sample(text, 'chatdrop_budget_used_tokens')).toBeGreaterThanOrEqual(18);
      browser.abort();
    }));

  it('starts from zero in every app: each has its own registry', () =>
    withServer({ CHATDROP_METRICS_TOKEN: TOKEN }, async (s) => {
      const text = await (await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
      expect(text).toContain('chatdrop_active_streams 0');
      expect(text).not.toContain('chatdrop_chat_requests_total{');
    }));
});

describe('logs', () => {
  it('write one structured line per reply with the request id, route, status, model, timings, tokens, finish reason and error code', () =>
    withServer({}, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['Hello'], usage: { prompt: 13, completion: 1 } }, { kind: 'error', status: 500, message: 'boom' });
      const ok = await postChat(s.url, { message: 'Hi' });
      const requestId = ok.headers.get('x-request-id');
      await readEvents(ok);
      await readEvents(await postChat(s.url, { message: 'Hi again' }));
      await requestLinesFor(s, 2);

      const lines = parsedLogs(s);
      const reply = lines.find((l) => l.msg === 'reply ended' && l.reqId === requestId);
      expect(reply).toMatchObject({
        route: '/api/chat',
        model: 'fast',
        finishReason: 'stop',
        inputTokens: 13,
        outputTokens: 1,
        firstTokenMs: expect.any(Number),
        durationMs: expect.any(Number),
      });
      expect(lines.find((l) => l.msg === 'request done' && l.reqId === requestId)).toMatchObject({ route: '/api/chat', status: 200, method: 'POST' });
      expect(lines.find((l) => l.msg === 'reply ended' && l.finishReason === 'error')).toMatchObject({ errorCode: 'upstream-unavailable', upstreamStatus: 500 });
    }));

  it('never contain a visitor\'s words by default: not from a reply, a refused body, or an unknown conversation', () =>
    withServer({}, async (s) => {
      upstream.script({ kind: 'deltas', deltas: [`Echo ${MARKER}`] });
      await readEvents(await postChat(s.url, { message: `My secret is ${MARKER}` }));
      await fetch(`${s.url}/api/chat`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"message": ${MARKER}}` });
      await fetch(`${s.url}/api/chat`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"message": 7, "x": "${MARKER}"}` });
      await fetch(`${s.url}/api/conversations/${MARKER}`);
      await requestLinesFor(s, 4);
      expect(s.logs.length).toBeGreaterThan(5);
      // Its first characters: a JSON parse error quotes a few characters around the fault.
      for (const line of s.logs) expect(line).not.toContain(MARKER.slice(0, 8));
    }));

  it('contain the question and the reply with CHATDROP_LOG_CONTENT=1', () =>
    withServer({ CHATDROP_LOG_CONTENT: '1' }, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['Answer ', MARKER] });
      await readEvents(await postChat(s.url, { message: `Question ${MARKER}` }));
      expect(parsedLogs(s).find((l) => l.msg === 'reply ended')).toMatchObject({ question: `Question ${MARKER}`, reply: `Answer ${MARKER}` });
    }));
});
