import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiErrorBody, type StreamEvent } from '@chatdrop/shared';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf, type ReceivedEvent } from '../test/read-sse.js';

/**
 * Resumable streams on one instance (issue 6): a reply outlives its reader for the resume grace,
 * `GET /api/chat/:messageId/stream` with `Last-Event-ID` replays and follows it, and nobody
 * coming back means the upstream request is aborted when the grace runs out.
 */
const GRACE_MS = 800;
let upstream: MockUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({ upstream, env: { CHATDROP_RESUME_GRACE_MS: String(GRACE_MS) } });
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

const words = Array.from({ length: 40 }, (_, i) => `w${i} `);

function resume(messageId: string, lastEventId?: string): Promise<Response> {
  return fetch(`${server.url}/api/chat/${encodeURIComponent(messageId)}/stream`, {
    headers: lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId },
  });
}

/** Starts a reply and leaves after `deltas` text deltas, as a phone losing its network would. */
async function startAndDrop(deltas: number): Promise<{ seen: ReceivedEvent[]; messageId: string; conversationId: string }> {
  const browser = new AbortController();
  const response = await postChat(server.url, { message: 'Tell me a story' }, { signal: browser.signal });
  const { events } = await readEvents(response, (_event, all) =>
    all.filter((e) => e.event.type === 'text-delta').length >= deltas ? 'stop' : undefined,
  );
  browser.abort();
  const start = events[0]!.event as Extract<StreamEvent, { type: 'message-start' }>;
  return { seen: events, messageId: start.messageId, conversationId: start.conversationId };
}

function ids(events: ReceivedEvent[]): number[] {
  return events.map((e) => Number(e.id));
}

describe('a reply whose reader dropped', () => {
  it('keeps running through the grace, and a resume from Last-Event-ID gets the rest with no gap and no duplicate', async () => {
    upstream.script({ kind: 'deltas', deltas: words, delayMs: 15 });
    const { seen, messageId, conversationId } = await startAndDrop(3);
    const lastId = seen.at(-1)!.id!;

    const response = await resume(messageId, lastId);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
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
    upstream.script({ kind: 'deltas', deltas: Array.from({ length: 400 }, (_, i) => `x${i} `), delayMs: 20 });
    const { messageId, conversationId } = await startAndDrop(2);
    const leftAt = Date.now();
    const index = upstream.requests.length - 1;
    const record = await upstream.waitForAbort(index, 10_000);
    // Not at once: the reply waited the grace for a reader to come back (waitForAbort bounds the rest).
    expect(record.abortedAt! - leftAt).toBeGreaterThanOrEqual(GRACE_MS - 50);
    await server.replies.get(messageId)?.done;
    const reply = (await server.store.getConversation(conversationId))?.messages[1];
    expect(reply?.status).toBe('incomplete');
    expect(reply?.content.length).toBeGreaterThan(0);
    // What a late resume finds: the events up to the abort, ending with message-end aborted.
    const late = (await readEvents(await resume(messageId, '1'))).events;
    expect(late.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'aborted' });
  });

  it('a reader that resumes within the grace keeps the reply alive past it', async () => {
    const long = Array.from({ length: 60 }, (_, i) => `y${i} `);
    upstream.script({ kind: 'deltas', deltas: long, delayMs: 30 }); // about 1.8 s, over twice the grace
    const { seen, messageId } = await startAndDrop(1);
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS / 2));
    const rest = (await readEvents(await resume(messageId, seen.at(-1)!.id))).events;
    expect(textOf([...seen, ...rest])).toBe(long.join(''));
    expect(rest.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'stop' });
  });

  it('Stop aborts at once even while nobody reads (during the grace)', async () => {
    upstream.script({ kind: 'deltas', deltas: Array.from({ length: 400 }, (_, i) => `z${i} `), delayMs: 20 });
    const { messageId } = await startAndDrop(1);
    const stop = await fetch(`${server.url}/api/chat/${messageId}/stop`, { method: 'POST' });
    expect(stop.status).toBe(204);
    const record = await upstream.waitForAbort(upstream.requests.length - 1, 2_000);
    expect(record.aborted).toBe(true);
    await server.replies.get(messageId)?.done;
    expect(server.logs.some((line) => line.includes(messageId) && line.includes('"abortReason":"stop"'))).toBe(true);
  });
});
