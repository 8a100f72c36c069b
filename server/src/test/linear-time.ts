import { expect } from 'vitest';

/**
 * Checks that `run` takes time linear in its input: it is timed on inputs of 1k, 10k and 100k
 * characters (per run, best of three batches, after a warm-up), and 100k may take at most 25 times as long
 * as 10k. Linear work gives about 10x, quadratic work 100x; the slack absorbs a loaded machine.
 * A ratio, not a time, so it holds on a slow machine as on a fast one. A pause of the shared
 * machine can still land in one measurement, so the pair is measured up to three times and the
 * lowest ratio counts: a quadratic parser is 100x every time, a pause does not come back each time.
 */
export function expectLinear(name: string, make: (chars: number) => string, run: (input: string) => unknown): void {
  // Per run, best of three batches; a batch repeats the run until it has taken 20 ms, so a
  // sub-millisecond run is not measured by the clock's grain.
  const time = (input: string): number => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      let runs = 0;
      const started = performance.now();
      do {
        run(input);
        runs++;
      } while (performance.now() - started < 20);
      best = Math.min(best, (performance.now() - started) / runs);
    }
    return best;
  };
  const [small, medium, large] = [1_000, 10_000, 100_000].map((n) => make(n));
  expect((large as string).length).toBeGreaterThanOrEqual(100_000);
  time(medium as string); // warm-up: JIT
  time(small as string);
  let best = { ratio: Infinity, t10k: 0, t100k: 0 };
  for (let attempt = 0; attempt < 3 && best.ratio >= 25; attempt++) {
    const t10k = Math.max(time(medium as string), 0.05);
    const t100k = time(large as string);
    if (t100k / t10k < best.ratio) best = { ratio: t100k / t10k, t10k, t100k };
  }
  expect(best.ratio, `${name}: 10k chars took ${best.t10k.toFixed(2)} ms, 100k took ${best.t100k.toFixed(2)} ms`).toBeLessThan(25);
}

/** `unit` repeated to at least `chars` characters. */
export const repeat = (unit: string, chars: number): string => unit.repeat(Math.ceil(chars / unit.length));

/** `expectLinear` for work that completes asynchronously (a stream read to its end). */
export async function expectLinearAsync(name: string, make: (chars: number) => string, run: (input: string) => Promise<unknown>): Promise<void> {
  const time = async (input: string): Promise<number> => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      let runs = 0;
      const started = performance.now();
      do {
        await run(input);
        runs++;
      } while (performance.now() - started < 20);
      best = Math.min(best, (performance.now() - started) / runs);
    }
    return best;
  };
  const [small, medium, large] = [1_000, 10_000, 100_000].map((n) => make(n));
  expect((large as string).length).toBeGreaterThanOrEqual(100_000);
  await time(medium as string); // warm-up: JIT
  await time(small as string);
  let best = { ratio: Infinity, t10k: 0, t100k: 0 };
  for (let attempt = 0; attempt < 3 && best.ratio >= 25; attempt++) {
    const t10k = Math.max(await time(medium as string), 0.05);
    const t100k = await time(large as string);
    if (t100k / t10k < best.ratio) best = { ratio: t100k / t10k, t10k, t100k };
  }
  expect(best.ratio, `${name}: 10k chars took ${best.t10k.toFixed(2)} ms, 100k took ${best.t100k.toFixed(2)} ms`).toBeLessThan(25);
}
