import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@chatdrop/shared';
import { CANARY_KEY, startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf } from '../test/read-sse.js';

/**
 * Issue 5's upstream faults, each through the real `openai` SDK against the mock over real HTTP.
 * (Drops, hangs, disconnects and the plain status mapping are in chat-route.test.ts and
 * chat-abort.test.ts.) One mock upstream per test, so request counts are this test's alone.
 */
let upstream: MockUpstream;
let server: TestServer | undefined;

beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  await upstream.close();
});

async function withServer(env: Record<string, string>, body: (server: TestServer) => Promise<void>): Promise<void> {
  upstream.requests.length = 0;
  server = await startTestServer({ upstream, env });
  try {
    await body(server);
  } finally {
    await server.close();
    server = undefined;
  }
}

const types = (events: { event: StreamEvent }[]): string[] => events.map((e) => e.event.type);

describe('429 and 5xx before the first token', () => {
  it('retries with the SDK\'s own retries and streams the answer once the upstream recovers', () =>
    withServer({ CHATDROP_UPSTREAM_RETRIES: '2' }, async (s) => {
      upstream.script(
        { kind: 'error', status: 429, message: 'Rate limit reached', type: 'requests', headers: { 'retry-after-ms': '20' } },
        { kind: 'error', status: 503, message: 'Overloaded', type: 'server_error', headers: { 'retry-after-ms': '20' } },
        { kind: 'deltas', deltas: ['Back ', 'again.'] },
      );
      const { events } = await readEvents(await postChat(s.url, { message: 'Hi' }));
      expect(types(events)).toEqual(['message-start', 'text-delta', 'text-delta', 'message-end']);
      expect(textOf(events)).toBe('Back again.');
      expect(upstream.requests).toHaveLength(3);
    }));

  it('honours the upstream\'s retry-after before retrying', () =>
    withServer({ CHATDROP_UPSTREAM_RETRIES: '1' }, async (s) => {
      // One second; the SDK's own backoff would wait at most 0.5 s before the first retry.
      upstream.script(
        { kind: 'error', status: 429, message: 'Slow down', type: 'requests', headers: { 'retry-after': '1' } },
        { kind: 'deltas', deltas: ['ok'] },
      );
      const { events } = await readEvents(await postChat(s.url, { message: 'Hi' }));
      expect(textOf(events)).toBe('ok');
      expect(upstream.requests).toHaveLength(2);
      expect(upstream.requests[1]!.startedAt - upstream.requests[0]!.startedAt).toBeGreaterThanOrEqual(900);
    }));

  it('gives up after the configured number of retries with upstream-unavailable, retryable, then message-end error', () =>
    withServer({ CHATDROP_UPSTREAM_RETRIES: '2' }, async (s) => {
      upstream.script({ kind: 'error', status: 500, message: 'Internal trouble detail-500', type: 'server_error', headers: { 'retry-after-ms': '10' } });
      const { events } = await readEvents(await postChat(s.url, { message: 'Hi' }));
      expect(types(events)).toEqual(['message-start', 'error', 'message-end']);
      expect(events[1]!.event).toEqual({ type: 'error', code: 'upstream-unavailable', message: expect.any(String), retryable: true });
      expect(events[2]!.event).toMatchObject({ finishReason: 'error' });
      // One try and two retries, no more.
      expect(upstream.requests).toHaveLength(3);
      expect(JSON.stringify(events)).not.toContain('detail-500');
    }));

  it('ends at the first-token timeout when the upstream asks to wait longer than that', () =>
    withServer({ CHATDROP_UPSTREAM_RETRIES: '2', CHATDROP_FIRST_TOKEN_TIMEOUT_MS: '300' }, async (s) => {
      // The SDK would sleep an hour before its retry; our timeout must not wait for it.
      upstream.script({ kind: 'error', status: 429, message: 'Come back later', type: 'requests', headers: { 'retry-after': '3600' } });
      const started = Date.now();
      const { events } = await readEvents(await postChat(s.url, { message: 'Hi' }));
      expect(types(events)).toEqual(['message-start', 'error', 'message-end']);
      expect(events[1]!.event).toMatchObject({ code: 'timeout', retryable: true });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(upstream.requests).toHaveLength(1);
    }));
});

describe('a failure in the middle of a stream', () => {
  it('keeps the partial reply as incomplete and sends error then message-end error when the upstream sends an error chunk', () =>
    withServer({ CHATDROP_UPSTREAM_RETRIES: '2' }, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['So far ', 'so good. ', 'Never.'], errorAfter: 2 });
      const { events } = await readEvents(await postChat(s.url, { message: 'Go' }));
      expect(types(events)).toEqual(['message-start', 'text-delta', 'text-delta', 'error', 'message-end']);
      expect(events[3]!.event).toMatchObject({ code: 'upstream-unavailable', retryable: true });
      expect(events[4]!.event).toMatchObject({ finishReason: 'error' });
      // Text has gone out: no retry, which would repeat it.
      expect(upstream.requests).toHaveLength(1);
      const start = events[0]!.event;
      if (start.type !== 'message-start') throw new Error('no start');
      expect((await s.store.getConversation(start.conversationId))?.messages[1]).toMatchObject({ content: 'So far so good. ', status: 'incomplete' });
    }));
});

describe('401, 403 and 400 from the upstream', () => {
  it.each([401, 403, 400])('does not retry a %i and answers upstream-rejected, with the detail only in the log', (status) =>
    withServer({ CHATDROP_UPSTREAM_RETRIES: '2' }, async (s) => {
      upstream.script({ kind: 'error', status, message: `Refused: ${CANARY_KEY} detail-${status}-xyz`, code: 'invalid_api_key' });
      const response = await postChat(s.url, { message: 'Hi' });
      const raw = await response.clone().text();
      const { events } = await readEvents(response);
      expect(types(events)).toEqual(['message-start', 'error', 'message-end']);
      expect(events[1]!.event).toEqual({ type: 'error', code: 'upstream-rejected', message: expect.any(String), retryable: false });
      expect(upstream.requests).toHaveLength(1);
      expect(raw).not.toContain(`detail-${status}-xyz`);
      const logs = s.logs.join('\n');
      expect(logs).toContain(`detail-${status}-xyz`);
      expect(logs).toContain(`"upstreamStatus":${status}`);
      expect(logs).not.toContain(CANARY_KEY);
    }));
});

describe('a fallback model per alias', () => {
  // The picker on, so a request can name the alias without a fallback.
  const env = { CHATDROP_MODELS: 'fast=gpt-primary,smart=gpt-smart', CHATDROP_MODEL_PICKER: '1', CHATDROP_FALLBACKS: 'fast=gpt-backup' };

  it('answers with the fallback model when the primary fails before its first token, and logs it', () =>
    withServer(env, async (s) => {
      upstream.script({ kind: 'error', status: 503, message: 'Primary down' }, { kind: 'deltas', deltas: ['From ', 'the backup.'] });
      const { events } = await readEvents(await postChat(s.url, { message: 'Hi' }));
      expect(types(events)).toEqual(['message-start', 'text-delta', 'text-delta', 'message-end']);
      // The visitor still sees the alias they chose.
      expect(events[0]!.event).toMatchObject({ model: 'fast' });
      expect(events.at(-1)!.event).toMatchObject({ finishReason: 'stop' });
      expect(upstream.requests.map((r) => r.body.model)).toEqual(['gpt-primary', 'gpt-backup']);
      const lines = s.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: expect.stringMatching(/fallback/), upstreamModel: 'gpt-primary', fallbackModel: 'gpt-backup', errorCode: 'upstream-unavailable' }),
      );
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'reply ended', upstreamModel: 'gpt-backup', fallback: true, finishReason: 'stop' }));
    }));

  it('falls back after a first-token timeout too', () =>
    withServer({ ...env, CHATDROP_FIRST_TOKEN_TIMEOUT_MS: '200' }, async (s) => {
      upstream.script({ kind: 'hang' }, { kind: 'deltas', deltas: ['Late but here.'] });
      const { events } = await readEvents(await postChat(s.url, { message: 'Hi' }));
      expect(textOf(events)).toBe('Late but here.');
      expect(upstream.requests.map((r) => r.body.model)).toEqual(['gpt-primary', 'gpt-backup']);
    }));

  it('does not fall back once text has gone out, nor for a rejected request, nor for an alias without one', () =>
    withServer(env, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['Half ', 'a reply'], dropAfter: 1 });
      const dropped = await readEvents(await postChat(s.url, { message: 'Hi' }));
      expect(types(dropped.events)).toEqual(['message-start', 'text-delta', 'error', 'message-end']);

      upstream.script({ kind: 'error', status: 401, message: 'Bad key' });
      const rejected = await readEvents(await postChat(s.url, { message: 'Hi' }));
      expect(rejected.events[1]!.event).toMatchObject({ code: 'upstream-rejected' });

      upstream.script({ kind: 'error', status: 503, message: 'Down' });
      const noFallback = await readEvents(await postChat(s.url, { message: 'Hi', model: 'smart' }));
      expect(noFallback.events[1]!.event).toMatchObject({ code: 'upstream-unavailable' });

      expect(upstream.requests.map((r) => r.body.model)).toEqual(['gpt-primary', 'gpt-primary', 'gpt-smart']);
    }));
});
