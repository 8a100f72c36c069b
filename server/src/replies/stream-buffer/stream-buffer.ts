import type { StreamEvent } from '@chatdrop/shared';

/** One event of a reply's stream with its SSE id (counting up from 1 within the stream). */
export interface BufferedEvent {
  id: number;
  event: StreamEvent;
}

/**
 * Every reply's stream events, kept while it runs and for a short time after it ends, so
 * `GET /api/chat/:messageId/stream` with `Last-Event-ID` can replay what a dropped reader missed
 * and then follow the live stream (issue 6). One backend per deployment: memory for one instance,
 * Redis (`REDIS_URL`) when several instances serve one site and the resume lands on another one.
 */
export interface StreamBuffer {
  /**
   * Adds the event with SSE id `id` to the stream of `messageId` (creating it on first use). Ids
   * must count up. This is on the per-token path: appends of one stream are stored in call order,
   * so the writer need not await each one (attach a `.catch`); `end` waits for all of them. A
   * backend that stores the event at once answers undefined rather than a promise (no promise
   * and no `.catch` per token); a failure is then a rejected promise all the same.
   */
  append(messageId: string, id: number, event: StreamEvent): Promise<void> | undefined;
  /**
   * Marks the stream done: readers stop after its last event even when no `message-end` was
   * appended, and the buffer is dropped after the short end expiry (default 60 s). Idempotent.
   */
  end(messageId: string): Promise<void>;
  /**
   * The events after `afterId` in order, then live ones, ending after `message-end`, when the
   * stream is marked done, when it expires, or when `signal` aborts (a normal end, no throw).
   * Nothing at all for an unknown id. Throws `StreamGapError` rather than skip an event.
   */
  read(messageId: string, afterId: number, signal: AbortSignal): AsyncIterable<BufferedEvent>;
  /** True while a stream by that id is buffered (running, or ended less than the expiry ago). */
  has(messageId: string): Promise<boolean>;
  /** Stops timers and closes connections this buffer opened (not an injected Redis client). */
  close(): Promise<void>;
}

/** How long a stream stays resumable after it ends. */
export const DEFAULT_END_TTL_MS = 60_000;
/**
 * Safety net for a stream whose writer died without `end` (a crashed instance): it is dropped once
 * nothing was appended for this long, so readers following it stop too (and fall back to the
 * stored reply) instead of waiting on a writer that is gone.
 */
export const DEFAULT_RUNNING_TTL_MS = 2 * 60_000;
/**
 * The running expiry for a deployment: longer than a living reply can go quiet (the upstream's
 * first-token and idle timeouts bound that), so only a dead writer's stream expires.
 */
export function runningTtlMs(config: { firstTokenTimeoutMs: number; idleTimeoutMs: number }): number {
  return Math.max(DEFAULT_RUNNING_TTL_MS, 2 * Math.max(config.firstTokenTimeoutMs, config.idleTimeoutMs));
}
/**
 * Cap per stream, far above one reply: a text-delta is about one token, and models stop at
 * 16,000 to 32,000 output tokens. (Trimmed events could not be replayed: a resume from before
 * them gets 204 and reads the stored reply.)
 */
export const DEFAULT_MAX_EVENTS = 100_000;
