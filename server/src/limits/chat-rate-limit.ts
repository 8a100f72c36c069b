import type { Store } from 'express-rate-limit';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { visitorRateLimit } from './visitor-rate-limit.js';

/**
 * `CHATDROP_RATE_LIMIT` chat requests per minute per client (`clientKey`). The client IP is
 * `req.ip`, which is right behind a proxy only when `TRUST_PROXY` says how many hops to trust.
 * When Redis is down the limiter lets the request through (`visitorRateLimit`); the next step on
 * Redis (the stream slot) answers the contract's 503 then.
 */
export function chatRateLimit(perMinute: number, store?: Store, logger?: Logger): RequestHandler {
  return visitorRateLimit({
    limit: perMinute,
    windowMs: 60_000,
    message: 'Too many messages. Please wait a moment and try again.',
    ...(store === undefined ? {} : { store }),
    ...(logger === undefined ? {} : { logger }),
  });
}
