import { Router } from 'express';

/**
 * Routing that matches a path exactly as written: case-sensitive, and a trailing slash is a
 * different path. Express's default matches `/METRICS` and `/metrics/` to a `/metrics` route,
 * while a proxy in front (nginx's `location = /metrics`, a load balancer's path rule, a WAF)
 * compares bytes. A rule there that guards a path would then guard one spelling of it and let
 * the others through. The app sets the same two settings for its own router.
 */
export const STRICT_ROUTING = { caseSensitive: true, strict: true } as const;

/** `express.Router` with `STRICT_ROUTING`: every router of the app is made by this. */
export function strictRouter(): Router {
  return Router(STRICT_ROUTING);
}
