import type { Response } from 'express';
import { SSE_PING, SSE_PING_INTERVAL_MS, encodeSseEvent, type StreamEvent } from '@chatdrop/shared';

/**
 * The one place the server writes SSE (STYLE: framing lives in one place on each side).
 *
 * - Headers of the contract; `X-Accel-Buffering: no` stops nginx from holding the stream back,
 *   `no-transform` stops proxies from compressing (and so buffering) it.
 * - Ids count up from 1 within the stream, so a resume (issue 6) can say where it left off.
 * - Each event is written at once, with Nagle off, so a delta leaves as soon as it exists.
 * - `: ping` after `pingIntervalMs` of quiet keeps proxies from closing an idle stream.
 */
export class SseResponse {
  readonly #res: Response;
  readonly #pingIntervalMs: number;
  #nextId: number;
  #pingTimer: NodeJS.Timeout | undefined;

  constructor(res: Response, options: { pingIntervalMs?: number; firstId?: number } = {}) {
    this.#res = res;
    this.#pingIntervalMs = options.pingIntervalMs ?? SSE_PING_INTERVAL_MS;
    this.#nextId = options.firstId ?? 1;
  }

  /** Sends the status and headers; nothing may be written before. */
  start(): void {
    const res = this.#res;
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.setHeader('Connection', 'keep-alive');
    res.socket?.setNoDelay(true);
    res.flushHeaders();
    this.#armPing();
  }

  /** False once the browser has gone or the stream was ended: writing would be lost. */
  get writable(): boolean {
    const res = this.#res;
    return !res.writableEnded && !res.destroyed && res.socket?.destroyed !== true;
  }

  /** Writes one event with the next id; returns the id, or undefined when nobody can read it. */
  send(event: StreamEvent): number | undefined {
    if (!this.writable) return undefined;
    const id = this.#nextId++;
    this.#res.write(encodeSseEvent(id, event));
    this.#armPing();
    return id;
  }

  /** Ends the response (when still possible) and stops pinging. Safe to call twice. */
  end(): void {
    this.#clearPing();
    if (this.writable) this.#res.end();
  }

  #armPing(): void {
    this.#clearPing();
    this.#pingTimer = setTimeout(() => {
      if (!this.writable) return;
      this.#res.write(SSE_PING);
      this.#armPing();
    }, this.#pingIntervalMs);
    // A ping timer alone must not keep the process alive at shutdown.
    this.#pingTimer.unref();
  }

  #clearPing(): void {
    if (this.#pingTimer !== undefined) clearTimeout(this.#pingTimer);
    this.#pingTimer = undefined;
  }
}
