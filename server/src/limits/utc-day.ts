const DAY_MS = 24 * 60 * 60 * 1000;

/** The UTC calendar day of an epoch-milliseconds instant, `YYYY-MM-DD`: the budget's key. */
export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** Whole seconds until the next UTC midnight, at least 1: a `Retry-After` that is never 0. */
export function secondsUntilNextUtcDay(nowMs: number): number {
  const nextMidnight = Math.floor(nowMs / DAY_MS) * DAY_MS + DAY_MS;
  return Math.max(1, Math.ceil((nextMidnight - nowMs) / 1000));
}
