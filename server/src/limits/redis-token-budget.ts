import type { Redis } from 'ioredis';
import { guardRedis as guard } from '../store/redis-failure.js';
import { checkTokens, type BudgetReservation, type TokenBudget } from './token-budget.js';
import { secondsUntilNextUtcDay, utcDay } from './utc-day.js';

export interface RedisTokenBudgetOptions {
  /** The instance's command connection; not owned. */
  redis: Redis;
  keyPrefix?: string;
  /** Epoch milliseconds; injected by tests to cross midnight. */
  now?: () => number;
}

/** A day's keys outlive the day a little, so a reply that ends after midnight still finds them. */
const KEY_TTL_SECONDS = 2 * 24 * 60 * 60;

/*
 * Two counters per UTC day: KEYS[1] `<prefix>budget:<YYYY-MM-DD>`, the tokens spent by replies
 * that have ended, and KEYS[2] `<prefix>budget:<YYYY-MM-DD>:held`, the holds of replies still
 * running. Each script runs atomically inside Redis, so the check and the hold that depends on it
 * cannot be split by another instance's request.
 *
 * A hold is not leased: when an instance dies mid-reply, its hold stays counted until the day
 * ends. That is on purpose: the upstream may well have billed that reply up to its cap, and
 * nobody is left to say what it cost.
 */

/** ARGV: input tokens, tokens to hold (input + output cap), limit, TTL seconds. 1: held; 0: refused. */
const RESERVE = `
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if spent + held + tonumber(ARGV[1]) > tonumber(ARGV[3]) then return 0 end
redis.call('INCRBY', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
`;

/** ARGV: tokens held, tokens spent, TTL seconds. */
const SETTLE = `
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECRBY', KEYS[2], ARGV[1]) end
redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`;

/** ARGV: tokens to add to the hold, TTL seconds. */
const EXTEND = `
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
`;

interface Scripts {
  chatdropReserveBudget(spentKey: string, heldKey: string, input: number, tokens: number, limit: number, ttl: number): Promise<number>;
  chatdropSettleBudget(spentKey: string, heldKey: string, held: number, spent: number, ttl: number): Promise<number>;
  chatdropExtendBudget(heldKey: string, tokens: number, ttl: number): Promise<number>;
}

/** The site's budget in Redis, one count for every instance; old days' keys expire by themselves. */
export class RedisTokenBudget implements TokenBudget {
  readonly #redis: Redis;
  readonly #scripts: Scripts;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(options: RedisTokenBudgetOptions) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix ?? 'chatdrop:';
    this.#now = options.now ?? Date.now;
    this.#redis.defineCommand('chatdropReserveBudget', { lua: RESERVE, numberOfKeys: 2 });
    this.#redis.defineCommand('chatdropSettleBudget', { lua: SETTLE, numberOfKeys: 2 });
    this.#redis.defineCommand('chatdropExtendBudget', { lua: EXTEND, numberOfKeys: 1 });
    this.#scripts = this.#redis as unknown as Scripts;
  }

  async used(): Promise<number> {
    const value = await guard(this.#redis.get(this.#spentKey(utcDay(this.#now()))));
    return value === null ? 0 : Number(value);
  }

  async reserve(request: { inputTokens: number; outputTokens: number }, limit: number): Promise<BudgetReservation | undefined> {
    checkTokens(request.inputTokens);
    checkTokens(request.outputTokens);
    const day = utcDay(this.#now());
    const tokens = request.inputTokens + request.outputTokens;
    const spentKey = this.#spentKey(day);
    const held = await guard(this.#scripts.chatdropReserveBudget(spentKey, `${spentKey}:held`, request.inputTokens, tokens, limit, KEY_TTL_SECONDS));
    return held === 1 ? { day, tokens, settled: false } : undefined;
  }

  async settle(reservation: BudgetReservation, spentTokens: number): Promise<void> {
    checkTokens(spentTokens);
    if (reservation.settled) return;
    // Marked first: a settle that fails (Redis away) leaves the hold counted for the day, which
    // errs on the owner's side, and is never applied twice.
    reservation.settled = true;
    const spentKey = this.#spentKey(reservation.day);
    await guard(this.#scripts.chatdropSettleBudget(spentKey, `${spentKey}:held`, reservation.tokens, spentTokens, KEY_TTL_SECONDS));
  }

  async extend(reservation: BudgetReservation, tokens: number): Promise<void> {
    checkTokens(tokens);
    if (reservation.settled) return;
    // The hold grows in Redis first: should that fail, the settle gives back only what was held.
    await guard(this.#scripts.chatdropExtendBudget(`${this.#spentKey(reservation.day)}:held`, tokens, KEY_TTL_SECONDS));
    reservation.tokens += tokens;
  }

  secondsUntilReset(): number {
    return secondsUntilNextUtcDay(this.#now());
  }

  #spentKey(day: string): string {
    return `${this.#prefix}budget:${day}`;
  }
}
