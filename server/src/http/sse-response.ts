import type { Response } from 'express';
import { SSE_PING, SSE_PING_INTERVAL_MS, encodeSseEvent, type StreamEvent } from '@chatdrop/shared';

/**
 * The one place the server writes SSE (STYLE: framing lives in one place on each side).
 *
 * - Headers of the contract; `X-Accel-Buffering: no` stops nginx from holding the stream back,
 *   `no-transform` stops proxies from compressing (and so buffering) it.
 * - Ids count up from 1 within the stream, so a resume (issue 6) can say where it left off.
 * - Each event leaves in the tick it was sent in, with Nagle off, so a delta leaves as soon as it
 *   exists. Events sent in the same tick (the headers and `message-start`; several deltas from one
 *   upstream read; `message-end` and the end of the response) go out as one write: one system
 *   call and one packet instead of one each (issue 7: the proxy's CPU per request and per token).
 *   Nothing waits for a later tick, a timer or more data.
 * - `: ping` after `pingIntervalMs` of quiet keeps proxies from closing an idle stream.
 */
export class SseResponse {
  readonly #res: Response;
  readonly #pingIntervalMs: number;
  #nextId: number;
  #pingTimer: NodeJS.Timeout | undefined;
  /** Framed events sent in this tick and not yet written. */
  #pending = '';
  #flushQueued = false;
  /** Bound once: queuing a flush allocates nothing. */
  readonly #flushNow = (): void => this.#flush();

  constructor(res: Response, options: { pingIntervalMs?: number; firstId?: number } = {}) {
    this.#res = res;
    this.#pingIntervalMs = options.pingIntervalMs ?? SSE_PING_INTERVAL_MS;
    this.#nextId = options.firstId ?? 1;
  }

  /**
   * Sets the status and headers; nothing may be written before. They leave at the end of this
   * tick, with whatever events were sent in it.
   */
  start(): void {
    const res = this.#res;
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.setHeader('Connection', 'keep-alive');
    res.socket?.setNoDelay(true);
    this.#queueFlush();
    // One timer for the whole stream, pushed back by each write (`refresh`, no new timer).
    this.#pingTimer = setTimeout(() => this.#ping(), this.#pingIntervalMs);
    // A ping timer alone must not keep the process alive at shutdown.
    this.#pingTimer.unref();
  }

  /** False once the browser has gone or the stream was ended: writing would be lost. */
  get writable(): boolean {
    const res = this.#res;
    return !res.writableEnded && !res.destroyed && res.socket?.destroyed !== true;
  }

  /** Sends one event with the next id; returns the id, or undefined when nobody can read it. */
  send(event: StreamEvent): number | undefined {
    if (!this.writable) return undefined;
    const id = this.#nextId++;
    this.#pending += encodeSseEvent(id, event);
    this.#queueFlush();
    return id;
  }

  /** Writes what is pending, ends the response (when still possible) and stops pinging. Safe to call twice. */
  end(): void {
    this.#clearPing();
    if (!this.writable) return;
    const pending = this.#pending;
    this.#pending = '';
    if (pending === '') this.#res.end();
    else this.#res.end(pending);
  }

  /**
   * `process.nextTick` runs once the current macrotask and every promise job it queued are done,
   * so the events of one upstream chunk, which pass through several async generators, still
   * share the write, and nothing is held past this turn of the event loop.
   */
  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    process.nextTick(this.#flushNow);
  }

  #flush(): void {
    this.#flushQueued = false;
    if (!this.writable) {
      this.#pending = '';
      return;
    }
    const res = this.#res;
    if (this.#pending !== '') {
      res.write(this.#pending);
      this.#pending = '';
      this.#pingTimer?.refresh();
    } else if (!res.headersSent) {
      res.flushHeaders();
    }
  }

  #ping(): void {
    if (!this.writable) return;
    this.#res.write(SSE_PING);
    this.#pingTimer?.refresh();
  }

  #clearPing(): void {
    if (this.#pingTimer !== undefined) clearTimeout(this.#pingTimer);
    this.#pingTimer = undefined;
  }
}
