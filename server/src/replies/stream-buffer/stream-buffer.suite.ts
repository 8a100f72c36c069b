import type { StreamEvent } from '@chatdrop/shared';
import { afterEach, describe, expect, it } from 'vitest';
import type { BufferedEvent, StreamBuffer } from './stream-buffer.js';

export interface StreamBufferHarness {
  buffer: StreamBuffer;
  cleanup?: () => Promise<void>;
}

export interface StreamBufferSettings {
  endTtlMs?: number;
}

let counter = 0;
/** Message ids unique per test, so backends sharing one Redis never see each other's streams. */
function messageId(): string {
  counter += 1;
  return `msg-${process.pid}-${Date.now()}-${counter}`;
}

/** A reply as the chat route writes it: ids 1..n, `message-start`, deltas, `message-end`. */
export function replyEvents(deltas: string[]): StreamEvent[] {
  return [
    { type: 'message-start', conversationId: 'conv', messageId: 'msg', model: 'fast' },
    ...deltas.map((delta): StreamEvent => ({ type: 'text-delta', delta })),
    { type: 'message-end', finishReason: 'stop', usage: { inputTokens: 3, outputTokens: deltas.length } },
  ];
}

export async function appendAll(buffer: StreamBuffer, id: string, events: StreamEvent[], firstId = 1): Promise<void> {
  await Promise.all(events.map((event, index) => buffer.append(id, firstId + index, event)));
}

/** Reads until the iterator ends, collecting what it gave. */
export async function collect(buffer: StreamBuffer, id: string, afterId: number, signal: AbortSignal = new AbortController().signal): Promise<BufferedEvent[]> {
  const seen: BufferedEvent[] = [];
  for await (const item of buffer.read(id, afterId, signal)) seen.push(item);
  return seen;
}

/** The same behaviour from every `StreamBuffer` backend (issue 6, resumable streams). */
export function streamBufferSuite(name: string, make: (settings: StreamBufferSettings) => Promise<StreamBufferHarness>): void {
  describe(name, () => {
    const harnesses: StreamBufferHarness[] = [];
    async function open(settings: StreamBufferSettings = {}): Promise<StreamBuffer> {
      const harness = await make(settings);
      harnesses.push(harness);
      return harness.buffer;
    }
    afterEach(async () => {
      for (const harness of harnesses.splice(0)) {
        await harness.buffer.close();
        await harness.cleanup?.();
      }
    });

    it('replays exactly the events after Last-Event-ID, in order, with no gap and no duplicate', async () => {
      const buffer = await open();
      const id = messageId();
      const events = replyEvents(['He', 'llo', ' wor', 'ld', '!']);
      await appendAll(buffer, id, events);
      await buffer.end(id);

      const seen = await collect(buffer, id, 3);
      expect(seen.map((item) => item.id)).toEqual([4, 5, 6, 7]);
      expect(seen.map((item) => item.event)).toEqual(events.slice(3));
    });

    it('replays everything from the start when the reader has seen nothing', async () => {
      const buffer = await open();
      const id = messageId();
      const events = replyEvents(['a', 'b']);
      await appendAll(buffer, id, events);
      await buffer.end(id);
      expect(await collect(buffer, id, 0)).toEqual(events.map((event, index) => ({ id: index + 1, event })));
    });

    it('gives a reader attached mid-stream the replay and then the rest live, ending at message-end', async () => {
      const buffer = await open();
      const id = messageId();
      const events = replyEvents(['one', 'two', 'three', 'four']);
      await appendAll(buffer, id, events.slice(0, 3));

      const seen: BufferedEvent[] = [];
      const reading = (async () => {
        for await (const item of buffer.read(id, 1, new AbortController().signal)) seen.push(item);
      })();
      await expect.poll(() => seen.length).toBe(2);
      // Live: one at a time, each reaching the reader before the next is written.
      for (let index = 3; index < events.length; index++) {
        await buffer.append(id, index + 1, events[index]!);
        await expect.poll(() => seen.length).toBe(index);
      }
      await reading;
      expect(seen.map((item) => item.id)).toEqual([2, 3, 4, 5, 6]);
      expect(seen.at(-1)?.event.type).toBe('message-end');
      await buffer.end(id);
    });

    it('ends a reader of a finished stream at message-end without waiting for more', async () => {
      const buffer = await open();
      const id = messageId();
      await appendAll(buffer, id, replyEvents(['x']));
      // Not marked ended yet (the writer is still saving): message-end alone stops the reader.
      const seen = await collect(buffer, id, 0);
      expect(seen.map((item) => item.event.type)).toEqual(['message-start', 'text-delta', 'message-end']);
    });

    it('gives nothing when the reader has already seen the last event of a finished stream', async () => {
      const buffer = await open();
      const id = messageId();
      await appendAll(buffer, id, replyEvents(['x']));
      await buffer.end(id);
      expect(await collect(buffer, id, 3)).toEqual([]);
    });

    it('stops a follower when the stream is marked ended without a message-end', async () => {
      const buffer = await open();
      const id = messageId();
      await appendAll(buffer, id, replyEvents(['x']).slice(0, 2));
      const reading = collect(buffer, id, 0);
      await buffer.end(id);
      expect((await reading).map((item) => item.id)).toEqual([1, 2]);
      // end is idempotent
      await buffer.end(id);
      expect(await buffer.has(id)).toBe(true);
    });

    it('knows nothing of an unknown id: has() is false and a reader gets nothing', async () => {
      const buffer = await open();
      const id = messageId();
      expect(await buffer.has(id)).toBe(false);
      expect(await collect(buffer, id, 0)).toEqual([]);
      await buffer.end(id); // ending an unknown stream does not create it
      expect(await buffer.has(id)).toBe(false);
    });

    it('holds a stream while it runs and drops it a short time after it ends', async () => {
      const buffer = await open({ endTtlMs: 300 });
      const id = messageId();
      await appendAll(buffer, id, replyEvents(['x']));
      expect(await buffer.has(id)).toBe(true);
      await buffer.end(id);
      expect(await buffer.has(id)).toBe(true);
      await expect.poll(() => buffer.has(id), { timeout: 5_000, interval: 50 }).toBe(false);
      expect(await collect(buffer, id, 0)).toEqual([]);
    });

    it('stops a reader at once when its signal aborts, and gives nothing to one aborted before', async () => {
      const buffer = await open();
      const id = messageId();
      await appendAll(buffer, id, replyEvents(['a', 'b']).slice(0, 2));
      const controller = new AbortController();
      const seen: BufferedEvent[] = [];
      const reading = (async () => {
        for await (const item of buffer.read(id, 0, controller.signal)) seen.push(item);
      })();
      await expect.poll(() => seen.length).toBe(2);
      controller.abort();
      await reading; // ends, does not throw
      expect(seen.map((item) => item.id)).toEqual([1, 2]);

      expect(await collect(buffer, id, 0, AbortSignal.abort())).toEqual([]);
      await buffer.end(id);
    });

    it('serves several readers of one stream, each the whole of it', async () => {
      const buffer = await open();
      const id = messageId();
      const events = replyEvents(['a', 'b', 'c']);
      await appendAll(buffer, id, events.slice(0, 2));
      const readers = [collect(buffer, id, 0), collect(buffer, id, 1), collect(buffer, id, 2)];
      await appendAll(buffer, id, events.slice(2), 3);
      const [all, fromOne, fromTwo] = await Promise.all(readers);
      expect(all?.map((item) => item.id)).toEqual([1, 2, 3, 4, 5]);
      expect(fromOne?.map((item) => item.id)).toEqual([2, 3, 4, 5]);
      expect(fromTwo?.map((item) => item.id)).toEqual([3, 4, 5]);
    });

    it('refuses an event id that does not count up', async () => {
      const buffer = await open();
      const id = messageId();
      await appendAll(buffer, id, replyEvents([]).slice(0, 1));
      await expect(buffer.append(id, 1, { type: 'text-delta', delta: 'again' })).rejects.toThrow();
      expect((await collect(buffer, id, 0, AbortSignal.timeout(200))).map((item) => item.id)).toEqual([1]);
    });
  });
}
