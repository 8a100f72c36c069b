/** Gives back a slot taken by `acquire`. Idempotent: a second call does nothing. */
export type ReleaseSlot = () => Promise<void>;

/**
 * At most `max` streams at once per key (per client IP: issue 5, `busy`), counted across every
 * instance when they share Redis (issue 6). Memory for one instance, Redis for several.
 */
export interface ConcurrencyLimiter {
  /** A slot for `key`, or undefined when `max` are already taken. Release it when the stream ends. */
  acquire(key: string, max: number): Promise<ReleaseSlot | undefined>;
  /** Stops timers; slots still held are left to expire (Redis) or vanish with the process. */
  close(): Promise<void>;
}
