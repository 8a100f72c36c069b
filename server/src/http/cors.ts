import type { RequestHandler } from 'express';
import { ApiError } from './api-error.js';

export interface CorsOptions {
  /** `ALLOWED_ORIGINS`; undefined means the server's own origin plus local development origins. */
  allowedOrigins: readonly string[] | undefined;
  /** `CHATDROP_PUBLIC_URL`'s origin: the server's own, always allowed. */
  publicOrigin: string;
}

/** Loopback pages on any port: the demo page, `vite dev`, a site under development. */
const LOCAL_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\]):\d{1,5}$/;

const ALLOWED_METHODS = 'GET, POST, DELETE, OPTIONS';
const ALLOWED_HEADERS = 'Content-Type, Last-Event-ID, X-Request-Id';
/** So the widget can read them: the retry hint on 429/503 and the id a visitor can quote. */
const EXPOSED_HEADERS = 'Retry-After, X-Request-Id';

/**
 * CORS for the API (issue 5: "only ALLOWED_ORIGINS get Access-Control-Allow-Origin").
 *
 * - The server's own origin is always allowed: the demo page at `/` calls the API same-origin,
 *   and browsers still send `Origin` on a same-origin POST. It is the configured public origin
 *   (`CHATDROP_PUBLIC_URL`), never one built from the request: a `Host` header is whatever the
 *   client sent, and through DNS rebinding a page on `evil.example` (its name now resolving to this
 *   server) sends `Origin` and `Host` that agree with each other.
 * - An allowed origin gets `Access-Control-Allow-Origin` echoed (never `*`, so the list is the
 *   whole truth) and preflights answer 204 with the methods and headers the widget uses.
 * - Any other origin gets no CORS headers, so its page cannot read an answer. A state-changing
 *   request (POST, DELETE) from it is refused with 403 before any work: a simple-request POST
 *   (`text/plain`) would otherwise reach the route and spend the owner's tokens even though the
 *   page cannot read the reply.
 * - Requests without `Origin` (curl, server-to-server) are not CORS and pass unchanged.
 * - `Vary: Origin` always, so a cache never hands one origin's answer to another.
 */
export function cors(options: CorsOptions): RequestHandler {
  const listed = new Set(options.allowedOrigins ?? []);
  const isAllowed = (origin: string): boolean =>
    origin === options.publicOrigin ||
    (options.allowedOrigins === undefined ? LOCAL_ORIGIN.test(origin) : listed.has(origin));

  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin === undefined) {
      next();
      return;
    }
    if (!isAllowed(origin)) {
      if (req.method === 'POST' || req.method === 'DELETE' || req.method === 'PUT' || req.method === 'PATCH') {
        next(new ApiError('bad-request', 403, 'This site is not allowed to use this chat.'));
        return;
      }
      // A preflight from elsewhere: answer it, but without the headers that would allow anything.
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      // Safari needs an explicit zero length on a 204 preflight or it may wait for a body.
      res.setHeader('Content-Length', '0');
      res.status(204).end();
      return;
    }
    next();
  };
}
