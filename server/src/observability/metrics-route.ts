import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { Metrics } from './metrics.js';
import { strictRouter } from '../http/strict-router.js';

/**
 * `GET /metrics` in Prometheus' text format, for a scraper holding `CHATDROP_METRICS_TOKEN`
 * (Prometheus: `authorization: { credentials: ... }` in the scrape config).
 *
 * Why a token and not "loopback only": behind nginx on the same host every request comes from
 * loopback, so an address check would publish the metrics to the world through the proxy. Without
 * a token configured, or with a wrong or missing one, the request falls through to whatever answers
 * an unknown path, so the endpoint's existence is not revealed either.
 */
export function metricsRouter(options: {
  metrics: Metrics;
  token: string | undefined;
  /** Brings gauges kept elsewhere up to date before a scrape (the budget, shared in Redis). */
  refresh?: () => Promise<void>;
}): Router {
  const router = strictRouter();
  const expected = options.token === undefined ? undefined : digest(options.token);

  router.get('/metrics', async (req, res, next) => {
    const given = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    // Hashes of equal length, compared without an early exit: no timing hint about the token.
    if (expected === undefined || given === undefined || !timingSafeEqual(digest(given), expected)) {
      next();
      return;
    }
    await options.refresh?.();
    res.setHeader('Content-Type', options.metrics.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(await options.metrics.registry.metrics());
  });
  return router;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
