import { rateLimit, type Store } from 'express-rate-limit';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiError, sendApiError } from '../http/api-error.js';
import { clientKey } from './client-key.js';

/**
 * `CHATDROP_RATE_LIMIT` chat requests per minute per client IP (issue 2). The client IP is
 * `req.ip`, which is right behind a proxy only when `TRUST_PROXY` says how many hops to trust.
 * express-rate-limit sets `Retry-After` itself before calling the handler; the handler only
 * writes the contract's body (and keeps its own `Retry-After` if the library did not set one).
 * `passOnStoreError`: when Redis is down the limiter lets the request through instead of failing
 * it with a 500; the next step on Redis (the stream slot) answers the contract's 503 then.
 */
export function chatRateLimit(perMinute: number, store?: Store, logger?: Logger): RequestHandler {
  return rateLimit({
    // Its complaints (a store error while Redis is away, a config warning) as JSON log lines
    // like every other, not stacks on stderr. Warnings: the request still goes on (see above).
    ...(logger === undefined
      ? {}
      : {
          logger: {
            warn: (error: unknown, message?: string) => logger.warn({ err: error }, message ?? 'express-rate-limit'),
            error: (error: unknown, message?: string) => logger.warn({ err: error }, message ?? 'express-rate-limit'),
          },
        }),
    // Redis (`createRateLimitStore`) when several instances share one site; memory otherwise.
    ...(store === undefined ? {} : { store }),
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    passOnStoreError: true,
    // The same key as every other per-visitor limit: an IPv6 visitor's whole network counts once.
    keyGenerator: clientKey,
    // The key is `req.ip`, which Express derives from X-Forwarded-For only as far as `TRUST_PROXY`
    // allows; with it unset a forwarding header is whatever a visitor chose to send, and ignoring
    // it is the point (chat-limits.test.ts). The library would still log a ValidationError stack
    // (ERR_ERL_UNEXPECTED_X_FORWARDED_FOR, ERR_ERL_FORWARDED_HEADER) the first time one arrives:
    // noise any visitor can trigger, and a false alarm on a correct setup. Only those two checks
    // are off; the rest (ERR_ERL_PERMISSIVE_TRUST_PROXY for `TRUST_PROXY=true` among them) stay on.
    validate: { xForwardedForHeader: false, forwardedHeader: false },
    handler: (_req, res) => {
      const retryAfter = Number(res.getHeader('Retry-After')) || 60;
      sendApiError(res, new ApiError('rate-limited', 429, 'Too many messages. Please wait a moment and try again.', retryAfter));
    },
  });
}
