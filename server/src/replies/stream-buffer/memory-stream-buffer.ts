import type { StreamEvent } from '@chatdrop/shared';
import {
  DEFAULT_END_TTL_MS,
  DEFAULT_MAX_EVENTS,
  DEFAULT_RUNNING_TTL_MS,
  type BufferedEvent,
  type StreamBuffer,
} from './stream-buffer.js';
import { StreamGapError } from './stream-gap-error.js';

export interface MemoryStreamBufferOptions {
  endTtlMs?: number;
  runningTtlMs?: number;
  maxEvents?: number;
}

interface Stream {
  events: BufferedEvent[];
  ended: boolean;
  /** Readers waiting for the next append or the end. */
  wakers: Set<() => void>;
  /** Drops the stream: the running safety net, then the end expiry. */
  timer: NodeJS.Timeout;
}

/** The buffer for one instance: streams in a map, readers woken by each append. */
export class MemoryStreamBuffer implements StreamBuffer {
  readonly #streams = new Map<string, Stream>();
  readonly #endTtlMs: number;
  readonly #runningTtlMs: number;
  readonly #maxEvents: number;

  constructor(options: MemoryStreamBufferOptions = {}) {
    this.#endTtlMs = options.endTtlMs ?? DEFAULT_END_TTL_MS;
    this.#runningTtlMs = options.runningTtlMs ?? DEFAULT_RUNNING_TTL_MS;
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  }

  /** Stored at once: undefined, or a rejected promise for an append that is refused. */
  append(messageId: string, id: number, event: StreamEvent): Promise<void> | undefined {
    let stream = this.#streams.get(messageId);
    if (stream === undefined) {
      stream = { events: [], ended: false, wakers: new Set(), timer: this.#dropLater(messageId, this.#runningTtlMs) };
      this.#streams.set(messageId, stream);
    }
    if (stream.ended) return Promise.reject(new Error(`Stream ${messageId} has ended; cannot append event ${id}`));
    const last = stream.events.at(-1);
    // The same rule Redis enforces on stream entry ids, so both backends fail alike.
    if (last !== undefined && id <= last.id) return Promise.reject(new Error(`Stream ${messageId}: event id ${id} is not after ${last.id}`));
    stream.events.push({ id, event });
    if (stream.events.length > this.#maxEvents) stream.events.shift();
    // refresh() restarts the running safety net without allocating a timer per token.
    stream.timer.refresh();
    wake(stream);
    return undefined;
  }

  async end(messageId: string): Promise<void> {
    const stream = this.#streams.get(messageId);
    if (stream === undefined || stream.ended) return;
    stream.ended = true;
    clearTimeout(stream.timer);
    stream.timer = this.#dropLater(messageId, this.#endTtlMs);
    wake(stream);
  }

  async *read(messageId: string, afterId: number, signal: AbortSignal): AsyncIterable<BufferedEvent> {
    let lastId = afterId;
    for (;;) {
      if (signal.aborted) return;
      const stream = this.#streams.get(messageId);
      if (stream === undefined) return;
      const fresh = stream.events.slice(firstAfter(stream.events, lastId));
      if (fresh.length === 0) {
        if (stream.ended) return;
        await nextChange(stream, signal);
        continue;
      }
      // More may be appended while this reader is suspended at a yield: the loop looks again
      // before it waits, so nothing appended meanwhile is missed.
      for (const buffered of fresh) {
        if (buffered.id !== lastId + 1) throw new StreamGapError(messageId, lastId + 1, buffered.id);
        yield buffered;
        lastId = buffered.id;
        if (buffered.event.type === 'message-end' || signal.aborted) return;
      }
    }
  }

  async has(messageId: string): Promise<boolean> {
    return this.#streams.has(messageId);
  }

  async close(): Promise<void> {
    for (const stream of this.#streams.values()) {
      clearTimeout(stream.timer);
      stream.ended = true;
      wake(stream);
    }
    this.#streams.clear();
  }

  #dropLater(messageId: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const stream = this.#streams.get(messageId);
      this.#streams.delete(messageId);
      // Readers still following a stream that expired must stop, not wait forever.
      if (stream !== undefined) wake(stream);
    }, ms);
    timer.unref();
    return timer;
  }
}

function wake(stream: Stream): void {
  // The common case on the per-token path: nobody is waiting.
  if (stream.wakers.size === 0) return;
  const wakers = [...stream.wakers];
  stream.wakers.clear();
  for (const waker of wakers) waker();
}

/** Resolves on the stream's next append, end or expiry, or when the reader aborts. */
function nextChange(stream: Stream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      stream.wakers.delete(done);
      resolve();
    };
    stream.wakers.add(done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Index of the first event with an id above `id` (ids ascend, so a binary search). */
function firstAfter(events: BufferedEvent[], id: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (events[middle]!.id <= id) low = middle + 1;
    else high = middle;
  }
  return low;
}
