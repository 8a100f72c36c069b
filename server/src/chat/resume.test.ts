import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiErrorBody, type StreamEvent } from '@chatdrop/shared';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf, type ReceivedEvent } from '../test/read-sse.js';

/**
 * Resumable streams on one instance (issue 6): a reply outlives its reader for the resume grace,
 * `GET /api/chat/:messageId/stream` with `Last-Event-ID` replays and follows it, and nobody
 * coming back means the upstream request is aborted when the grace runs out.
 *
 * Two servers: one whose grace is far longer than any test, so a resume never races the grace on
 * a loaded machine, and one with a short grace for what the grace itself does. Replies that must
 * still be running when the test acts are held by the mock upstream until the test lets them go,
 * rather than timed to last long enough.
 */
const SHORT_GRACE_MS = 1_500;
let upstream: MockUpstream;
let server: TestServer;
let short: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({ upstream, env: { CHATDROP_RESUME_GRACE_MS: '600000', CHATDROP_RATE_LIMIT: '1000' } });
  short = await startTestServer({ upstream, env: { CHATDROP_RESUME_GRACE_MS: String(SHORT_GRACE_MS), CHATDROP_RATE_LIMIT: '1000' } });
});
afterAll(async () => {
  for (const release of releases) release();
  await server.close();
  await short.close();
  await upstream.close();
});

const words = Array.from({ length: 40 }, (_, i) => `w${i} `);

/** A gate for `holdBefore`: the upstream holds the reply until `open()`; afterAll opens any left. */
const releases: (() => void)[] = [];
function gate(): { until: Promise<void>; open: () => void } {
  let open!: () => void;
  const until = new Promise<void>((resolve) => (open = resolve));
  releases.push(open);
  return { until, open };
}

function resume(messageId: string, lastEventId?: string, on: TestServer = server): Promise<Response> {
  return fetch(`${on.url}/api/chat/${encodeURIComponent(messageId)}/stream`, {
    headers: lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId },
  });
}

/**
 * Starts a reply of `words` and leaves once the first `count` of them arrived (in however many
 * events: close deltas may leave as one), as a phone losing its network would.
 */
async function startAndDrop(count: number, on: TestServer = server): Promise<{ seen: ReceivedEvent[]; messageId: string; conversationId: string }> {
  const browser = new AbortController();
  const response = await postChat(on.url, { message: 'Tell me a story' }, { signal: browser.signal });
  const { events } = await readEvents(response, (_event, all) => (textOf(all).startsWith(words.slice(0, count).join('')) ? 'stop' : undefined));
  browser.abort();
  const start = events[0]!.event as Extract<StreamEvent, { type: 'message-start' }>;
  return { seen: events, messageId: start.messageId, conversationId: start.conversationId };
}

function ids(events: ReceivedEvent[]): number[] {
  return events.map((e) => Number(e.id));
}

describe('a reply whose reader dropped', () => {
  it('keeps running without its reader, and a resume from Last-Event-ID gets the rest live, with no gap and no duplicate', async () => {
    const held = gate();
    upstream.script({ kind: 'deltas', deltas: words, holdBefore: { delta: 3, until: held.until } });
    const { seen, messageId, conversationId } = await startAndDrop(3);
    const lastId = seen.at(-1)!.id!;

    // The upstream still holds the rest back: what follows can only come live, through the resume.
    const response = await resume(messageId, lastId);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    held.open();
    const rest = (await readEvents(response)).events;
    expect(ids([...seen, ...rest])).toEqual(Array.from({ length: seen.length + rest.length }, (_, i) => i + 1));
    expect(textOf([...seen, ...rest])).toBe(words.join(''));
    expect(rest.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'stop' });
    expect(upstream.requests.at(-1)?.aborted).toBe(false);
    const stored = await server.store.getConversation(conversationId);
    expect(stored?.messages[1]).toMatchObject({ content: words.join(''), status: 'complete' });
  });

  it('replays the whole stream for a reload (no Last-Event-ID) and after the reply has ended', async () => {
    upstream.script({ kind: 'deltas', deltas: ['One ', 'two ', 'three.'] });
    const { events } = await readEvents(await postChat(server.url, { message: 'Count' }));
    const { messageId } = events[0]!.event as Extract<StreamEvent, { type: 'message-start' }>;

    const replay = (await readEvents(await resume(messageId))).events;
    expect(replay).toEqual(events);
    const tail = (await readEvents(await resume(messageId, '2'))).events;
    expect(tail).toEqual(events.slice(2));
  });

  it('answers 204 when nothing is left after Last-Event-ID, for unknown ids, and 400 for a Last-Event-ID that is no id', async () => {
    upstream.script({ kind: 'deltas', deltas: ['Done.'] });
    const { events } = await readEvents(await postChat(server.url, { message: 'Short' }));
    const { messageId } = events[0]!.event as Extract<StreamEvent, { type: 'message-start' }>;
    expect((await resume(messageId, events.at(-1)!.id)).status).toBe(204);
    expect((await resume('no-such-message')).status).toBe(204);
    expect((await resume('x'.repeat(300), '1')).status).toBe(204);
    const bad = await resume(messageId, 'seven');
    expect(bad.status).toBe(400);
    expect(isApiErrorBody(await bad.json())).toBe(true);
  });

  it('aborts the upstream request once nobody has come back within the grace, keeping the partial reply', async () => {
    const held = gate(); // never opened by the test: only the grace can end this reply
    upstream.script({ kind: 'deltas', deltas: words, holdBefore: { delta: 2, until: held.until } });
    const index = upstream.requests.length;
    const { messageId, conversationId } = await startAndDrop(2, short);
    const leftAt = Date.now();
    const record = await upstream.waitForAbort(index, 60_000);
    // Not at once: the reply waited the grace for a reader to come back (a lower bound, which a
    // slow machine only makes longer).
    expect(record.abortedAt! - leftAt).toBeGreaterThanOrEqual(SHORT_GRACE_MS - 50);
    await short.replies.get(messageId)?.done;
    const reply = (await short.store.getConversation(conversationId))?.messages[1];
    expect(reply).toMatchObject({ status: 'incomplete', content: 'w0 w1 ' });
    // What a late resume finds: the events up to the abort, ending with message-end aborted.
    const late = (await readEvents(await resume(messageId, '1', short))).events;
    expect(late.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'aborted' });
  });

  it('a resumed reader keeps the reply alive past the grace after the first reader has gone', async () => {
    const held = gate();
    upstream.script({ kind: 'deltas', deltas: words, holdBefore: { delta: 1, until: held.until } });
    const index = upstream.requests.length;
    // The reload case: the new page's resume is attached before the old page's connection closes.
    const first = new AbortController();
    const response = await postChat(short.url, { message: 'Tell me a story' }, { signal: first.signal });
    const seen = (await readEvents(response, (_event, all) => (all.some((e) => e.event.type === 'text-delta') ? 'stop' : undefined))).events;
    const { messageId } = seen[0]!.event as Extract<StreamEvent, { type: 'message-start' }>;
    const resumed = await resume(messageId, seen.at(-1)!.id, short);
    expect(resumed.status).toBe(200);
    first.abort();
    await expect.poll(() => short.replies.get(messageId)?.readerCount, { timeout: 30_000 }).toBe(0);
    // Nobody reads through the POST any more: only the resumed reader's announcements keep the
    // reply from being aborted. Well past the grace (a pause, not a measurement: the assertion is
    // that nothing was aborted meanwhile), then the upstream goes on.
    await new Promise((resolve) => setTimeout(resolve, 3 * SHORT_GRACE_MS));
    expect(upstream.requests[index]?.aborted).toBe(false);
    held.open();
    const rest = (await readEvents(resumed)).events;
    expect(textOf([...seen, ...rest])).toBe(words.join(''));
    expect(rest.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'stop' });
    expect(upstream.requests[index]?.aborted).toBe(false);
  });

  it('Stop aborts at once even while nobody reads (during the grace)', async () => {
    const held = gate();
    upstream.script({ kind: 'deltas', deltas: words, holdBefore: { delta: 1, until: held.until } });
    const index = upstream.requests.length;
    const { messageId } = await startAndDrop(1);
    const stop = await fetch(`${server.url}/api/chat/${messageId}/stop`, { method: 'POST' });
    expect(stop.status).toBe(204);
    // This server's grace is ten minutes: only the Stop can have ended it.
    const record = await upstream.waitForAbort(index, 60_000);
    expect(record.aborted).toBe(true);
    await server.replies.get(messageId)?.done;
    expect(server.logs.some((line) => line.includes(messageId) && line.includes('"abortReason":"stop"'))).toBe(true);
  });
});
