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

    it('starts the day at zero and counts what every instance\'s replies spent, not what they held', async () => {
      clock = Date.parse('2026-03-01T12:00:00Z');
      const { a, b } = await open();
      expect(await a.used()).toBe(0);
      const first = await a.reserve({ inputTokens: 20, outputTokens: 100 }, 1_000);
      const second = await b.reserve({ inputTokens: 10, outputTokens: 100 }, 1_000);
      expect(await a.used()).toBe(0);
      await a.settle(first!, 120);
      await b.settle(second!, 34);
      expect(await a.used()).toBe(154);
      expect(await b.used()).toBe(154);
    });

    it('admits a reply while the spent tokens, the holds and its input fit the limit, not after', async () => {
      clock = Date.parse('2026-03-01T12:00:00Z');
      const { a, b } = await open();
      // 900 held on A: B's input of 100 fits exactly, one more token does not.
      const held = await a.reserve({ inputTokens: 400, outputTokens: 500 }, 1_000);
      expect(held).toMatchObject({ day: '2026-03-01', tokens: 900 });
      expect(await b.reserve({ inputTokens: 101, outputTokens: 0 }, 1_000)).toBeUndefined();
      const last = await b.reserve({ inputTokens: 100, outputTokens: 500 }, 1_000);
      expect(last).toBeDefined();
      expect(await a.reserve({ inputTokens: 1, outputTokens: 1 }, 1_000)).toBeUndefined();
      // Settling below the hold gives the rest back.
      await a.settle(held!, 300);
      await b.settle(last!, 200);
      expect(await b.used()).toBe(500);
      expect(await b.reserve({ inputTokens: 450, outputTokens: 500 }, 1_000)).toBeDefined();
    });

    it('gives a hold back in full when settled at 0, and settles a reservation only once', async () => {
      clock = Date.parse('2026-03-01T12:00:00Z');
      const { a, b } = await open();
      const failed = await a.reserve({ inputTokens: 50, outputTokens: 950 }, 1_000);
      expect(await b.reserve({ inputTokens: 1, outputTokens: 1 }, 1_000)).toBeUndefined();
      await a.settle(failed!, 0);
      await a.settle(failed!, 0);
      await b.settle(failed!, 700); // already settled: no effect
      expect(await a.used()).toBe(0);
      expect(await b.reserve({ inputTokens: 1_000, outputTokens: 1 }, 1_000)).toBeDefined();
    });

    it('holds exactly as many of 200 simultaneous requests, from two instances, as fit the limit', async () => {
      clock = Date.parse('2026-03-01T12:00:00Z');
      const { a, b } = await open();
      // Each holds 100 and needs its input of 10 to fit: the tenth leaves 100 - 10 < 100, so ten fit.
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).reserve({ inputTokens: 10, outputTokens: 90 }, 1_000)),
      );
      const held = results.filter((r) => r !== undefined);
      expect(held).toHaveLength(10);
      await Promise.all(held.map((r, i) => (i % 2 === 0 ? a : b).settle(r, 100)));
      expect(await a.used()).toBe(1_000);
      expect(await b.reserve({ inputTokens: 1, outputTokens: 0 }, 1_000)).toBeUndefined();
    });

    it('starts afresh at UTC midnight, says how long until then, and settles a reservation against its own day', async () => {
      clock = Date.parse('2026-03-01T23:59:00Z');
      const { a, b } = await open();
      const lateReply = await a.reserve({ inputTokens: 100, outputTokens: 900 }, 1_000);
      expect(lateReply?.day).toBe('2026-03-01');
      expect(await b.reserve({ inputTokens: 1, outputTokens: 0 }, 1_000)).toBeUndefined();
      expect(a.secondsUntilReset()).toBe(60);
      clock = Date.parse('2026-03-01T23:59:59.500Z');
      expect(a.secondsUntilReset()).toBe(1);

      clock = Date.parse('2026-03-02T00:00:00Z');
      expect(a.secondsUntilReset()).toBe(24 * 60 * 60);
      expect(await b.used()).toBe(0);
      const morning = await b.reserve({ inputTokens: 1_000, outputTokens: 0 }, 1_000);
      expect(morning?.day).toBe('2026-03-02');
      // Yesterday's reply ends today: it does not count against today.
      await a.settle(lateReply!, 800);
      expect(await a.used()).toBe(0);
      await b.settle(morning!, 1_000);
      expect(await a.used()).toBe(1_000);
    });

    it('grows a running hold at once on every instance, then settles the whole of it, and ignores a settled reservation', async () => {
      clock = Date.parse('2026-03-01T12:00:00Z');
      const { a, b } = await open();
      // A reply holds 100 + 500; its first model fails after it may have billed the 100 input.
      const running = await a.reserve({ inputTokens: 100, outputTokens: 500 }, 1_000);
      expect(await b.reserve({ inputTokens: 400, outputTokens: 0 }, 1_000)).toBeDefined();
      await a.extend(running!, 100);
      expect(running!.tokens).toBe(700);
      // 700 + 400 held: B's next input no longer fits, however small.
      expect(await b.reserve({ inputTokens: 1, outputTokens: 0 }, 1_000)).toBeUndefined();
      // The fallback spent 100 + 40; with the failed 100 the reply cost 240, and the rest comes back.
      await a.settle(running!, 240);
      expect(await b.used()).toBe(240);
      await b.extend(running!, 50); // settled: no effect
      expect(await a.reserve({ inputTokens: 360, outputTokens: 0 }, 1_000)).toBeDefined();
      expect(await a.reserve({ inputTokens: 1, outputTokens: 0 }, 1_000)).toBeUndefined();
      await expect(a.extend({ day: '2026-03-01', tokens: 1, settled: false }, -1)).rejects.toThrow(RangeError);
    });

    it('refuses token counts that would corrupt the total', async () => {
      clock = Date.parse('2026-03-01T12:00:00Z');
      const { a } = await open();
      await expect(a.reserve({ inputTokens: -1, outputTokens: 1 }, 1_000)).rejects.toThrow(RangeError);
      await expect(a.reserve({ inputTokens: 1, outputTokens: 1.5 }, 1_000)).rejects.toThrow(RangeError);
      await expect(a.reserve({ inputTokens: Number.NaN, outputTokens: 1 }, 1_000)).rejects.toThrow(RangeError);
      const held = await a.reserve({ inputTokens: 1, outputTokens: 1 }, 1_000);
      await expect(a.settle(held!, -1)).rejects.toThrow(RangeError);
      await a.settle(held!, 0);
      expect(await a.used()).toBe(0);
    });
  });
}
