import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@chatdrop/shared';
import type { Env } from '../config.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf } from '../test/read-sse.js';

/**
 * `CHATDROP_MAX_OUTPUT_TOKENS`: every upstream request carries the cap, through the real SDK over
 * HTTP, and the mock (like a real upstream) stops there with finish reason `length`.
 */
let upstream: MockUpstream;

beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  await upstream.close();
});

async function withServer(env: Env, body: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startTestServer({ upstream, env });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

/** One chat turn; the request body the upstream got, and the events the browser got. */
async function turn(server: TestServer, body: object = {}): Promise<{ sent: Record<string, unknown>; events: StreamEvent[] }> {
  const before = upstream.requests.length;
  const { events } = await readEvents(await postChat(server.url, { message: 'Tell me everything', ...body }));
  expect(upstream.requests.length).toBeGreaterThan(before);
  return { sent: upstream.requests.at(-1)!.body as Record<string, unknown>, events: events.map((e) => e.event) };
}

const tenWords = Array.from({ length: 10 }, (_, i) => `w${i} `);

describe('the output-token cap', () => {
  it('is on every upstream request, 1024 by default, as max_tokens for an OpenAI-compatible server', () =>
    withServer({}, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['Fine.'] });
      const { sent } = await turn(s);
      expect(sent.max_tokens).toBe(1024);
      expect(sent).not.toHaveProperty('max_completion_tokens');
    }));

  it('goes as max_completion_tokens when CHATDROP_MAX_TOKENS_FIELD asks (OpenAI itself gets it by default)', () =>
    withServer({ CHATDROP_MAX_TOKENS_FIELD: 'max_completion_tokens', CHATDROP_MAX_OUTPUT_TOKENS: '333' }, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['Fine.'] });
      const { sent } = await turn(s);
      expect(sent.max_completion_tokens).toBe(333);
      expect(sent).not.toHaveProperty('max_tokens');
    }));

  it('follows the alias: its own cap, which its fallback model gets too', () =>
    withServer(
      {
        CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1',
        CHATDROP_MODEL_PICKER: '1',
        CHATDROP_MAX_OUTPUT_TOKENS: '200,smart=900',
        CHATDROP_FALLBACKS: 'smart=gpt-4.1-mini',
      },
      async (s) => {
        upstream.script({ kind: 'deltas', deltas: ['Fine.'] });
        expect((await turn(s, { model: 'fast' })).sent).toMatchObject({ model: 'gpt-4.1-mini', max_tokens: 200 });
        expect((await turn(s, { model: 'smart' })).sent).toMatchObject({ model: 'gpt-4.1', max_tokens: 900 });
        upstream.script({ kind: 'error', status: 503, message: 'overloaded' }, { kind: 'deltas', deltas: ['From the fallback.'] });
        const { events } = await turn(s, { model: 'smart' });
        expect(events.at(-1)).toMatchObject({ type: 'message-end', finishReason: 'stop' });
        expect(upstream.requests.slice(-2).map((r) => [r.body.model, r.body.max_tokens])).toEqual([
          ['gpt-4.1', 900],
          ['gpt-4.1-mini', 900],
        ]);
      },
    ));

  it('ends a reply that reaches it with finish reason length, stored complete with the text that came', () =>
    withServer({ CHATDROP_MAX_OUTPUT_TOKENS: '3' }, async (s) => {
      upstream.script({ kind: 'deltas', deltas: tenWords });
      const response = await postChat(s.url, { message: 'Tell me everything' });
      const { events } = await readEvents(response);
      expect(textOf(events)).toBe('w0 w1 w2 ');
      expect(events.at(-1)!.event).toMatchObject({ type: 'message-end', finishReason: 'length', usage: { outputTokens: 3 } });
      expect(events.some((e) => e.event.type === 'error')).toBe(false);
      const start = events[0]!.event as Extract<StreamEvent, { type: 'message-start' }>;
      const reply = (await s.store.getConversation(start.conversationId))?.messages[1];
      expect(reply).toMatchObject({ content: 'w0 w1 w2 ', status: 'complete' });
    }));
});
