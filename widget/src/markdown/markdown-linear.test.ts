import { describe, expect, it } from 'vitest';
import { spokenText } from '../plain-text.js';
import { SHAPES } from './adversarial.js';
import { createRenderer } from './markdown.js';
import { work } from './work.js';

/**
 * Linear time, shown by counting the parser's steps (work.ts: every loop that could scan text
 * again counts its turns), not by a clock: ten times the input may take at most ten times the
 * steps (and a little for rounding). The milliseconds, against markdown-it, marked and micromark,
 * are in the bench (`pnpm bench markdown`).
 */
const steps = (run: () => unknown) => {
  work.steps = 0;
  run();
  return work.steps;
};

describe('markdown in linear time on adversarial input', () => {
  it.each(Object.entries(SHAPES))('%s: 100k characters take at most ten times the steps of 10k', (_, shape) => {
    const small = steps(() => createRenderer()(shape(10_000)));
    const large = steps(() => createRenderer()(shape(100_000)));
    expect(small).toBeGreaterThan(0);
    expect(large).toBeLessThanOrEqual(10.5 * small);
    expect(large).toBeLessThanOrEqual(40 * 100_000);
  });

  it.each(Object.entries(SHAPES))('%s: what a screen reader hears of it is linear too', (_, shape) => {
    const small = steps(() => spokenText(createRenderer()(shape(10_000))));
    const large = steps(() => spokenText(createRenderer()(shape(100_000))));
    expect(large).toBeLessThanOrEqual(10.5 * small);
  });

  it('streams 100k characters with work per delta that does not grow with the answer', () => {
    const render = createRenderer();
    const text = SHAPES['long line']!(100_000).replace(/ /g, '\n\n');
    const perDelta: number[] = [];
    for (let at = 1000; at <= text.length; at += 1000) perDelta.push(steps(() => render(text.slice(0, at))));
    // The last deltas cost no more than the first ones (a fixed amount of new text each).
    const first = Math.max(...perDelta.slice(1, 10));
    expect(Math.max(...perDelta.slice(-10))).toBeLessThanOrEqual(2 * first);
  });
});
