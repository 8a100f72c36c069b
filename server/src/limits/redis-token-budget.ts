import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import { checkTokens, type TokenBudget } from './token-budget.js';
import { secondsUntilNextUtcDay, utcDay } from './utc-day.js';

export interface RedisTokenBudgetOptions {
  /** The instance's command connection; not owned. */
  redis: Redis;
  keyPrefix?: string;
  /** Epoch milliseconds; injected by tests to cross midnight. */
  now?: () => number;
}

/** A day's key outlives the day a little, so a late write near midnight still finds it. */
const KEY_TTL_SECONDS = 2 * 24 * 60 * 60;

/**
 * Today's count in `<prefix>budget:<YYYY-MM-DD>` (INCRBY is atomic, so instances add up exactly);
 * a new day is a new key, and old ones expire by themselves.
 */
export class RedisTokenBudget implements TokenBudget {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(options: RedisTokenBudgetOptions) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix ?? 'chatdrop:';
    this.#now = options.now ?? Date.now;
  }

  async used(): Promise<number> {
    const value = await guard(this.#redis.get(this.#key()));
    return value === null ? 0 : Number(value);
  }

  async add(tokens: number): Promise<void> {
    checkTokens(tokens);
    if (tokens === 0) return;
    const key = this.#key();
    const replies = await guard(this.#redis.multi().incrby(key, tokens).expire(key, KEY_TTL_SECONDS).exec());
    for (const [error] of replies ?? []) if (error) throw new StoreUnavailableError('Redis budget update failed', { cause: error });
  }

  async exceeded(limit: number): Promise<boolean> {
    return (await this.used()) >= limit;
  }

  secondsUntilReset(): number {
    return secondsUntilNextUtcDay(this.#now());
  }

  #key(): string {
    return `${this.#prefix}budget:${utcDay(this.#now())}`;
  }
}

async function guard<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    throw new StoreUnavailableError(`Redis command failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
