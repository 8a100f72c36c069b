/**
 * The parser's steps, counted in tests only: the linear-time tests compare the steps for 10k and
 * 100k characters instead of timing anything (timings go to the bench). Every loop that could
 * scan text again counts each turn. In a build `step` does nothing and the minifier drops it.
 */
export const work = { steps: 0 };

export const step: () => void = import.meta.env?.MODE == 'test' ? () => void work.steps++ : () => {};
