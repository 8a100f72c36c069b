import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { freePort } from '../test/redis-server.js';
import { guardRedis, redisFailure } from './redis-failure.js';
import { StoreUnavailableError } from './store-unavailable-error.js';

describe('redisFailure', () => {
  it("names what failed, then Redis's own words, and keeps the original as the cause", () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:1');
    const failure = redisFailure(refused, 'Redis publish failed');
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(failure.message).toBe('Redis publish failed: connect ECONNREFUSED 127.0.0.1:1');
    expect(failure.cause).toBe(refused);
    expect(redisFailure('closed').message).toBe('Redis command failed: closed');
  });

  it('lets a StoreUnavailableError thrown inside a guarded step pass as it is', () => {
    const inner = new StoreUnavailableError('Redis aborted a pipeline');
    expect(redisFailure(inner)).toBe(inner);
  });
});

describe('guardRedis', () => {
  it('turns a real command refused by a client with no server into StoreUnavailableError', async () => {
    const port = await freePort();
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    try {
      const failure = await guardRedis(redis.get('anything')).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect((failure as Error).message).toMatch(/^Redis command failed: /);
      expect((failure as Error).cause).toBeInstanceOf(Error);
    } finally {
      redis.disconnect();
    }
  });

  it('answers what the command answers when it succeeds', async () => {
    await expect(guardRedis(Promise.resolve('OK'))).resolves.toBe('OK');
  });
});
