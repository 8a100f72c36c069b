import type { RequestHandler } from 'express';
import { ApiError } from '../http/api-error.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every state-changing request to the inbox must come from the inbox's own page: its `Origin` is
 * the server's public origin (`CHATDROP_PUBLIC_URL`, never the Host header a client sends).
 * Browsers send `Origin` on every POST and DELETE; a request without one (a script, curl) or from
 * another origin (a page that got the cookie sent along: same-site pages can) is refused before
 * any work. SameSite=Strict already keeps other sites' requests cookie-less; this is the second lock.
 */
export function sameOrigin(publicOrigin: string): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method) || req.get('origin') === publicOrigin) {
      next();
      return;
    }
    next(new ApiError('bad-request', 403, 'This request must come from the inbox page itself.'));
  };
}
