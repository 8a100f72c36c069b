/**
 * Text that arrives within one short window goes out as one delta (one SSE event, one write, one
 * stream-buffer append) instead of one per upstream chunk.
 *
 * A fast model sends a chunk every few milliseconds, and each event costs the proxy a frame, a
 * socket write and a buffer append; a reader sees none of that granularity (the widget renders
 * once per animation frame, ~16 ms), so text arriving within `windowMs` of the last delta waits
 * for the window's end and leaves with whatever came meanwhile. Text that arrives after a quiet
 * window leaves at once: the first token is never held, and a slow model (a chunk every 100 ms)
 * streams exactly as before. Nothing waits longer than `windowMs`; `flush` sends what is pending
 * at once (the end of the reply, Stop, an error), so the order of events is kept.
 *
 * One timer for the whole reply, re-armed with `refresh()`: no timer or closure per window.
 */
export class DeltaCoalescer {
  readonly #windowMs: number;
  readonly #send: (text: string) => void;
  #pending = '';
  /** When the last delta went out (`performance.now()`, the clock timers run on). */
  #sentAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #armed = false;

  constructor(windowMs: number, send: (text: string) => void) {
    this.#windowMs = windowMs;
    this.#send = send;
  }

  /** Text as it comes from the upstream, in order. */
  push(text: string): void {
    if (this.#armed) {
      this.#pending += text;
      return;
    }
    const now = performance.now();
    if (now - this.#sentAt >= this.#windowMs) {
      this.#sentAt = now;
      this.#send(text);
      return;
    }
    this.#pending = text;
    this.#armed = true;
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), this.#windowMs);
    else this.#timer.refresh();
  }

  /**
   * Sends what is pending now, if anything. The timer is left to fire into nothing (a cleared
   * timer cannot be re-armed with `refresh()`; a fired or running one can).
   */
  flush(): void {
    this.#armed = false;
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    this.#sentAt = performance.now();
    this.#send(text);
  }

  /** Sends what is pending and stops the timer for good. */
  close(): void {
    this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
