import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@chatdrop/shared';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf } from '../test/read-sse.js';

let upstream: MockUpstream;
/** The default upstream timeouts (30 s): only the browser or Stop can end its replies early. */
let server: TestServer;
/** Short upstream timeouts, for the tests that wait for them. */
let impatient: TestServer;

/** Waits are for events; this only caps how long a broken build may hang a test. */
const GENEROUS_MS = 10_000;

beforeAll(async () => {
  upstream = await startMockUpstream();
  // Grace 0: the browser leaving aborts at once (resume and its grace: resume.test.ts).
  server = await startTestServer({ upstream, env: { CHATDROP_RESUME_GRACE_MS: '0' } });
  impatient = await startTestServer({
    upstream,
    env: { CHATDROP_FIRST_TOKEN_TIMEOUT_MS: '1000', CHATDROP_IDLE_TIMEOUT_MS: '1000', CHATDROP_RESUME_GRACE_MS: '0' },
  });
});
afterAll(async () => {
  await server.close();
  await impatient.close();
  await upstream.close();
});

const words = Array.from({ length: 200 }, (_, i) => `word${i} `);

function startOf(event: StreamEvent): { conversationId: string; messageId: string } {
  if (event.type !== 'message-start') throw new Error(`expected message-start, got ${event.type}`);
  return event;
}

describe('aborts and timeouts', () => {
  it('aborts the upstream request when the browser disconnects, keeping the partial reply', async () => {
    // Five words, then the upstream goes quiet for longer than the test may run (the server's idle
    // timeout is 30 s): the request can only end early because the browser left.
    upstream.script({ kind: 'deltas', deltas: words, hangAfter: 5 });
    const browser = new AbortController();
    const response = await postChat(server.url, { message: 'Tell me a long story' }, { signal: browser.signal });
    let start: { conversationId: string; messageId: string } | undefined;
    const seen = await readEvents(response, (event, all) => {
      if (event.type === 'message-start') start = startOf(event);
      // The five words, however many events carry them (close deltas may leave as one).
      return textOf(all) === words.slice(0, 5).join('') ? 'stop' : undefined;
    });
    browser.abort();

    await upstream.waitForAbort(upstream.requests.length - 1, GENEROUS_MS);

    await server.replies.get(start!.messageId)?.done;
    const reply = (await server.store.getConversation(start!.conversationId))?.messages[1];
    expect(reply?.status).toBe('incomplete');
    // What the browser saw is stored, and what is stored came from the upstream in order.
    expect(reply?.content.startsWith(textOf(seen.events))).toBe(true);
    expect(words.join('').startsWith(reply!.content)).toBe(true);
    expect(reply!.content.length).toBeLessThan(words.join('').length);
    expect(server.logs.some((line) => line.includes('"finishReason":"aborted"') && line.includes('"abortReason":"disconnect"'))).toBe(true);
  });

  it('stops a running reply on POST /api/chat/:messageId/stop and ends the stream with message-end aborted', async () => {
    upstream.script({ kind: 'deltas', deltas: words, hangAfter: 5 });
    const response = await postChat(server.url, { message: 'Go on' });
    let stopped = false;
    let messageId = '';
    const { events } = await readEvents(response, (event, all) => {
      if (event.type === 'message-start') messageId = event.messageId;
      if (!stopped && textOf(all).startsWith(words.slice(0, 3).join(''))) {
        stopped = true;
        void fetch(`${server.url}/api/chat/${messageId}/stop`, { method: 'POST' }).then((r) => expect(r.status).toBe(204));
      }
    });
    expect(events.at(-1)!.event).toMatchObject({ type: 'message-end', finishReason: 'aborted' });
    expect(events.filter((e) => e.event.type === 'message-end')).toHaveLength(1);
    expect(events.some((e) => e.event.type === 'error')).toBe(false);
    await upstream.waitForAbort(upstream.requests.length - 1, GENEROUS_MS);
    const start = startOf(events[0]!.event);
    const reply = (await server.store.getConversation(start.conversationId))?.messages[1];
    expect(reply).toMatchObject({ status: 'incomplete', content: textOf(events) });
  });

  it('answers 204 when stopping a reply that already ended or never existed', async () => {
    expect((await fetch(`${server.url}/api/chat/nothing-here/stop`, { method: 'POST' })).status).toBe(204);
    expect((await fetch(`${server.url}/api/chat/nothing-here/stream`)).status).toBe(204);
  });

  it('times out an upstream that sends headers and then nothing', async () => {
    upstream.script({ kind: 'hang' });
    const { events } = await readEvents(await postChat(impatient.url, { message: 'Hello?' }));
    expect(events.map((e) => e.event.type)).toEqual(['message-start', 'error', 'message-end']);
    expect(events[1]!.event).toMatchObject({ code: 'timeout', retryable: true });
    expect(events[2]!.event).toMatchObject({ finishReason: 'error' });
    await upstream.waitForAbort(upstream.requests.length - 1, GENEROUS_MS);
  });

  it('times out an upstream that goes quiet mid-stream, keeping the text so far', async () => {
    upstream.script({ kind: 'deltas', deltas: ['First ', 'second ', 'third'], hangAfter: 2 });
    const { events } = await readEvents(await postChat(impatient.url, { message: 'Hello?' }));
    // The text so far goes out before the error, then the end.
    expect(events.map((e) => e.event.type).filter((t) => t !== 'text-delta')).toEqual(['message-start', 'error', 'message-end']);
    expect(events.findIndex((e) => e.event.type === 'error')).toBe(events.length - 2);
    expect(textOf(events)).toBe('First second ');
    expect(events.at(-2)!.event).toMatchObject({ code: 'timeout' });
    const reply = (await impatient.store.getConversation(startOf(events[0]!.event).conversationId))?.messages[1];
    expect(reply).toMatchObject({ status: 'incomplete', content: 'First second ' });
  });
});
