/**
 * The daily token budget for the whole site (issue 5): input plus output tokens of every reply,
 * counted per UTC day, shared by every instance when they share Redis (issue 6). Over the limit,
 * chat answers `budget-exceeded` until the next UTC day; `secondsUntilReset` is its `Retry-After`.
 */
export interface TokenBudget {
  /** Tokens spent today (UTC). */
  used(): Promise<number>;
  /** Counts a reply's tokens against today. Whole, non-negative numbers only. */
  add(tokens: number): Promise<void>;
  /** True once today's spending has reached `limit`. */
  exceeded(limit: number): Promise<boolean>;
  /** Seconds until the budget starts afresh (next UTC midnight), at least 1. */
  secondsUntilReset(): number;
}

/** Refuses what would corrupt the count: the callers pass usage numbers from the upstream. */
export function checkTokens(tokens: number): void {
  if (!Number.isSafeInteger(tokens) || tokens < 0) throw new RangeError(`token count must be a whole number >= 0, got ${tokens}`);
}
