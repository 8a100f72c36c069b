import { afterEach, describe, expect, it } from 'vitest';
import type { TokenBudget } from './token-budget.js';

export interface TokenBudgetHarness {
  /** Two instances sharing state (the same one in memory), both on the injected clock. */
  a: TokenBudget;
  b: TokenBudget;
  cleanup?: () => Promise<void>;
}

/** The same behaviour from every `TokenBudget` backend; `make` builds budgets on the given clock. */
export function tokenBudgetSuite(name: string, make: (now: () => number) => Promise<TokenBudgetHarness>): void {
  describe(name, () => {
    const cleanups: (() => Promise<void>)[] = [];
    let clock = Date.parse('2026-03-01T12:00:00Z');
    const now = () => clock;
    async function open(): Promise<TokenBudgetHarness> {
      const harness = await make(now);
      if (harness.cleanup) cleanups.push(harness.cleanup);
      return harness;
    }
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });

    it('starts the day at zero and adds every reply, from every instance', async () => {
      clock = Date.parse('2026-03-01T12:00:00Z');
      const { a, b } = await open();
      expect(await a.used()).toBe(0);
      await a.add(120);
      await b.add(30);
      await Promise.all([a.add(1), b.add(1), a.add(1), b.add(1)]);
      expect(await a.used()).toBe(154);
      expect(await b.used()).toBe(154);
    });

    it('is exceeded once the day reaches the limit, not before', async () => {
      clock = Date.parse('2026-03-01T12:00:00Z');
      const { a, b } = await open();
      await a.add(999);
      expect(await b.exceeded(1_000)).toBe(false);
      await b.add(1);
      expect(await a.exceeded(1_000)).toBe(true);
    });

    it('starts afresh at UTC midnight and says how long until then', async () => {
      clock = Date.parse('2026-03-01T23:59:00Z');
      const { a } = await open();
      await a.add(5_000);
      expect(await a.exceeded(1_000)).toBe(true);
      expect(a.secondsUntilReset()).toBe(60);
      clock = Date.parse('2026-03-01T23:59:59.500Z');
      expect(a.secondsUntilReset()).toBe(1);

      clock = Date.parse('2026-03-02T00:00:00Z');
      expect(await a.used()).toBe(0);
      expect(await a.exceeded(1_000)).toBe(false);
      expect(a.secondsUntilReset()).toBe(24 * 60 * 60);
    });

    it('refuses token counts that would corrupt the total', async () => {
      const { a } = await open();
      await expect(a.add(-1)).rejects.toThrow(RangeError);
      await expect(a.add(1.5)).rejects.toThrow(RangeError);
      await expect(a.add(Number.NaN)).rejects.toThrow(RangeError);
      await a.add(0);
      expect(await a.used()).toBe(0);
    });
  });
}
