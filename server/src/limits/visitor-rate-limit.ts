import { rateLimit, type Store } from 'express-rate-limit';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiError, sendApiError } from '../http/api-error.js';
import { clientKey } from './client-key.js';

export interface VisitorRateLimitOptions {
  /** Requests one visitor may make per window. */
  limit: number;
  windowMs: number;
  /** What the visitor reads in the 429's body. */
  message: string;
  /**
   * Redis (`createRateLimitStore`, one per limiter) when several instances share one site, so the
   * count holds whichever instance a request lands on; express-rate-limit's memory store otherwise.
   */
  store?: Store;
  /** The app's logger, for what the limiter has to say outside any request. */
  logger?: Logger;
}

/**
 * A per-visitor request limit, counted under `clientKey` (an IPv4 address, an IPv6 /56) like every
 * other per-visitor limit. Past it: the contract's `429 rate-limited` body with `Retry-After`
 * (express-rate-limit sets the header itself before calling the handler; the handler only writes
 * the body, and keeps a `Retry-After` of its own if the library did not set one), plus the
 * standard `RateLimit` headers (draft 8).
 *
 * `passOnStoreError`: when Redis is down the request goes through instead of failing with a 500;
 * the route's own store call then answers the contract's 503, which says more.
 */
export function visitorRateLimit(options: VisitorRateLimitOptions): RequestHandler {
  const { logger } = options;
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
    ...(options.store === undefined ? {} : { store: options.store }),
    windowMs: options.windowMs,
    limit: options.limit,
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
      const retryAfter = Number(res.getHeader('Retry-After')) || Math.ceil(options.windowMs / 1000);
      sendApiError(res, new ApiError('rate-limited', 429, options.message, retryAfter));
    },
  });
}
