import { afterEach, describe, expect, it } from 'vitest';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';

export interface ConcurrencyLimiterHarness {
  /** Two instances sharing state (the same one in memory). */
  a: ConcurrencyLimiter;
  b: ConcurrencyLimiter;
  cleanup?: () => Promise<void>;
}

let counter = 0;
function clientKey(): string {
  counter += 1;
  return `203.0.113.${counter}-${process.pid}-${Date.now()}`;
}

/** The same behaviour from every `ConcurrencyLimiter` backend. */
export function concurrencyLimiterSuite(name: string, make: () => Promise<ConcurrencyLimiterHarness>): void {
  describe(name, () => {
    const harnesses: ConcurrencyLimiterHarness[] = [];
    async function open(): Promise<ConcurrencyLimiterHarness> {
      const harness = await make();
      harnesses.push(harness);
      return harness;
    }
    afterEach(async () => {
      for (const harness of harnesses.splice(0)) {
        await harness.a.close();
        if (harness.b !== harness.a) await harness.b.close();
        await harness.cleanup?.();
      }
    });

    it('grants up to max slots per key, counted across instances, and refuses the next', async () => {
      const { a, b } = await open();
      const key = clientKey();
      const first = await a.acquire(key, 2);
      const second = await b.acquire(key, 2);
      expect(first).toBeTypeOf('function');
      expect(second).toBeTypeOf('function');
      expect(await a.acquire(key, 2)).toBeUndefined();
      expect(await b.acquire(key, 2)).toBeUndefined();
    });

    it('grants a slot again once one is released, on either instance', async () => {
      const { a, b } = await open();
      const key = clientKey();
      const release = await a.acquire(key, 1);
      expect(await b.acquire(key, 1)).toBeUndefined();
      await release!();
      const again = await b.acquire(key, 1);
      expect(again).toBeTypeOf('function');
      await again!();
    });

    it('counts keys apart: one busy client does not block another', async () => {
      const { a } = await open();
      const [busy, other] = [clientKey(), clientKey()];
      await a.acquire(busy, 1);
      expect(await a.acquire(busy, 1)).toBeUndefined();
      expect(await a.acquire(other, 1)).toBeTypeOf('function');
    });

    it('frees a slot only once however often it is released', async () => {
      const { a, b } = await open();
      const key = clientKey();
      const first = await a.acquire(key, 2);
      await b.acquire(key, 2);
      await first!();
      await first!();
      expect(await a.acquire(key, 2)).toBeTypeOf('function');
      expect(await a.acquire(key, 2)).toBeUndefined();
    });

    it('gives concurrent requests exactly max slots', async () => {
      const { a, b } = await open();
      const key = clientKey();
      const results = await Promise.all(Array.from({ length: 10 }, (_, index) => (index % 2 ? a : b).acquire(key, 3)));
      expect(results.filter((result) => result !== undefined)).toHaveLength(3);
    });
  });
}
