import type { ConcurrencyLimiter, ReleaseSlot } from './concurrency-limiter.js';

/** One instance: a count per key. */
export class MemoryConcurrencyLimiter implements ConcurrencyLimiter {
  readonly #held = new Map<string, number>();

  async acquire(key: string, max: number): Promise<ReleaseSlot | undefined> {
    const held = this.#held.get(key) ?? 0;
    if (held >= max) return undefined;
    this.#held.set(key, held + 1);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const now = (this.#held.get(key) ?? 1) - 1;
      // Keys of clients with nothing running are dropped, so the map does not grow with every IP.
      if (now <= 0) this.#held.delete(key);
      else this.#held.set(key, now);
    };
  }

  async close(): Promise<void> {}
}
