/**
 * The daily token budget for the whole site: input plus output tokens of every reply, counted per
 * UTC day, shared by every instance when they share Redis. Over the limit, chat answers
 * `budget-exceeded` until the next UTC day; `secondsUntilReset` is its `Retry-After`.
 *
 * A reply is admitted by a reservation taken before its upstream call: its input tokens plus its
 * output cap, the most it can cost. The check and the hold are one atomic step, so concurrent
 * requests on any number of instances see each other's holds, and together they cannot overshoot
 * the limit by more than one reply's output cap: a reply is admitted while its input still fits
 * (spent + held + input <= limit), and what it may add beyond that is its output. When the reply
 * ends, the reservation settles to what it really spent (the usage chunk, or our own count),
 * against the day it was made on.
 */
export interface TokenBudget {
  /** Tokens spent today (UTC) by replies that have ended (holds not included). */
  used(): Promise<number>;
  /**
   * Holds `inputTokens + outputTokens` against today if the spent tokens, the holds and
   * `inputTokens` together stay within `limit`; undefined when they would not (`budget-exceeded`).
   */
  reserve(request: { inputTokens: number; outputTokens: number }, limit: number): Promise<BudgetReservation | undefined>;
  /**
   * Replaces the hold by the tokens the reply really spent (0 gives it all back), on the day the
   * reservation was made. A second settle of the same reservation does nothing.
   */
  settle(reservation: BudgetReservation, spentTokens: number): Promise<void>;
  /**
   * Grows a running reply's hold by tokens it has already spent beyond it (a model that failed
   * after it may have been billed, before a fallback model is asked), in one atomic step, so
   * requests admitted meanwhile see them. Not checked against the limit: those tokens are spent
   * whatever happens next, and the reply was admitted. Its later `settle` replaces the whole hold.
   * Does nothing once the reservation is settled.
   */
  extend(reservation: BudgetReservation, tokens: number): Promise<void>;
  /** Seconds until the budget starts afresh (next UTC midnight), at least 1. */
  secondsUntilReset(): number;
}

/** One reply's hold on the budget, from `reserve` to `settle`. */
export interface BudgetReservation {
  /** The UTC day (`YYYY-MM-DD`) it counts against. */
  readonly day: string;
  /** What it holds: its input and output cap, plus what `extend` added. */
  tokens: number;
  /** Set by the first `settle`. */
  settled: boolean;
}

/** Refuses what would corrupt the count: the callers pass usage numbers from the upstream. */
export function checkTokens(tokens: number): void {
  if (!Number.isSafeInteger(tokens) || tokens < 0) throw new RangeError(`token count must be a whole number >= 0, got ${tokens}`);
}
