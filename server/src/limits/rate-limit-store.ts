import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';

/**
 * An express-rate-limit store on Redis, so the per-IP request limit counts across instances
 * (issue 6). express-rate-limit refuses one store shared by two limiters, so make one per limiter;
 * limiters with the same prefix on one Redis count together, whichever instance they run on.
 */
export function createRateLimitStore(redis: Redis, prefix = 'chatdrop:rate-limit:'): RedisStore {
  return new RedisStore({
    prefix,
    // rate-limit-redis sends raw commands (its own Lua scripts); ioredis's `call` takes any command.
    sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
  });
}
