import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { guardRedis as guard } from '../store/redis-failure.js';
import type { ConcurrencyLimiter, ReleaseSlot } from './concurrency-limiter.js';

export interface RedisConcurrencyLimiterOptions {
  /** The instance's command connection; not owned. */
  redis: Redis;
  keyPrefix?: string;
  /**
   * How long a slot lives without renewal. This instance renews the slots it holds every third of
   * it, so only the slots of an instance that died expire: within this time, by themselves.
   */
  leaseMs?: number;
}

/*
 * A sorted set per key instead of a bare INCR/DECR counter: members are slots, scores their
 * expiry on Redis's own clock (TIME, so instances' clocks need not agree). A counter can only
 * expire as a whole, so a crashed instance's slots would linger as long as the client keeps
 * streaming; here each one lapses alone, and releasing a slot twice cannot drive a count below zero.
 */
const ACQUIRE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** Pushes a held slot's expiry out by one lease (XX: a slot that lapsed is not brought back). */
const RENEW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
`;

interface Scripts {
  chatdropAcquireSlot(key: string, max: number, leaseMs: number, slot: string): Promise<number>;
  chatdropRenewSlot(key: string, leaseMs: number, slot: string): Promise<number>;
}

/** Concurrent streams per key, counted across instances in `<prefix>concurrency:<key>`. */
export class RedisConcurrencyLimiter implements ConcurrencyLimiter {
  readonly #redis: Redis;
  readonly #scripts: Scripts;
  readonly #prefix: string;
  readonly #leaseMs: number;
  /** Slots this instance holds: slot id to its Redis key. */
  readonly #held = new Map<string, string>();
  #renewTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisConcurrencyLimiterOptions) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix ?? 'chatdrop:';
    this.#leaseMs = options.leaseMs ?? 60_000;
    this.#redis.defineCommand('chatdropAcquireSlot', { lua: ACQUIRE, numberOfKeys: 1 });
    this.#redis.defineCommand('chatdropRenewSlot', { lua: RENEW, numberOfKeys: 1 });
    this.#scripts = this.#redis as unknown as Scripts;
  }

  async acquire(key: string, max: number): Promise<ReleaseSlot | undefined> {
    const redisKey = `${this.#prefix}concurrency:${key}`;
    const slot = randomUUID();
    const got = await guard(this.#scripts.chatdropAcquireSlot(redisKey, max, this.#leaseMs, slot));
    if (got !== 1) return undefined;
    this.#held.set(slot, redisKey);
    this.#renewTimer ??= setInterval(() => void this.#renew(), Math.max(1, Math.floor(this.#leaseMs / 3))).unref();
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.#held.delete(slot);
      if (this.#held.size === 0) this.#stopRenewing();
      await guard(this.#redis.zrem(redisKey, slot));
    };
  }

  async close(): Promise<void> {
    this.#stopRenewing();
    this.#held.clear();
  }

  async #renew(): Promise<void> {
    const pipeline = this.#redis.pipeline();
    // defineCommand adds the script to pipelines too; ioredis's types cannot know of it.
    const scripts = pipeline as unknown as { chatdropRenewSlot(key: string, leaseMs: number, slot: string): unknown };
    for (const [slot, key] of this.#held) scripts.chatdropRenewSlot(key, this.#leaseMs, slot);
    // A failed renewal (Redis away) is retried on the next tick; the lease covers two misses.
    await pipeline.exec().catch(() => {});
  }

  #stopRenewing(): void {
    clearInterval(this.#renewTimer);
    this.#renewTimer = undefined;
  }
}
