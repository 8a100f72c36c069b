import { concurrencyLimiterSuite } from './concurrency-limiter.suite.js';
import { MemoryConcurrencyLimiter } from './memory-concurrency-limiter.js';

concurrencyLimiterSuite('MemoryConcurrencyLimiter', async () => {
  const limiter = new MemoryConcurrencyLimiter();
  return { a: limiter, b: limiter };
});
