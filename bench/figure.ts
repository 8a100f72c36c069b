/**
 * One row of the benchmark table and one entry of `bench/results.json` (issue 7).
 *
 * Timings on a shared 2-core machine are noisy, so every speed figure carries a baseline measured
 * in the same run and the ratio to it; the ratio is what to compare across runs and machines.
 * `value` is null when a part could not be measured, and `note` says why instead of a made-up number.
 */
export interface Figure {
  figure: string;
  unit: string;
  value: number | null;
  /** What the value is compared with, measured in the same run ("" when nothing fits). */
  baseline: string;
  baselineValue: number | null;
  /** value / baselineValue, rounded; null when either is missing. */
  ratio: number | null;
  /** The target in words, "" when the issue sets none for this figure. */
  target: string;
  /** Whether the target is met: true, false, or null when there is no target or no value. */
  met: boolean | null;
  note: string;
  date: string;
  commit: string;
}

/** What a benchmark part returns; `run.ts` stamps the date and commit on every row. */
export type Measured = Omit<Figure, 'date' | 'commit' | 'ratio'>;

export interface MeasuredInput {
  figure: string;
  unit: string;
  value: number | null;
  baseline?: string;
  baselineValue?: number | null;
  target?: string;
  met?: boolean | null;
  note?: string;
}

export function measured(input: MeasuredInput): Measured {
  return {
    figure: input.figure,
    unit: input.unit,
    value: input.value,
    baseline: input.baseline ?? '',
    baselineValue: input.baselineValue ?? null,
    target: input.target ?? '',
    met: input.value === null ? null : (input.met ?? null),
    note: input.note ?? '',
  };
}

/** A row that says what could not be measured and why, rather than a fake number. */
export function notMeasured(figure: string, unit: string, why: string, target = ''): Measured {
  return measured({ figure, unit, value: null, target, note: `not measured: ${why}` });
}

export function stamp(row: Measured, date: string, commit: string): Figure {
  const ratio =
    row.value !== null && row.baselineValue !== null && row.baselineValue !== 0
      ? round(row.value / row.baselineValue, 2)
      : null;
  return { ...row, ratio, date, commit };
}

/** Rounds to `digits` significant decimals, keeping integers whole. */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
