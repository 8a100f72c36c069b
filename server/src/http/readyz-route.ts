import type { Router } from 'express';
import type { Redis } from 'ioredis';
import { ApiError, sendApiError } from './api-error.js';
import { strictRouter } from './strict-router.js';

export interface ReadyzOptions {
  /** The instance's Redis connection, when conversations live there. */
  redis?: Redis;
  /** With `CHATDROP_KNOWLEDGE`: true once the first index is built (or found in the store). */
  knowledgeReady?: () => boolean;
}

/** How long `/readyz` waits for Redis to answer a PING. */
const PING_TIMEOUT_MS = 1_000;
/** How long one PING's answer stands for every probe, counted from when it was asked. */
const PING_REUSE_MS = 1_000;

/**
 * `GET /readyz`: 200 once this instance can answer as configured, for a load balancer or an
 * orchestrator to send it visitors. 503 with the contract's error body and `Retry-After` while
 * the store cannot be reached (Redis down) or the first knowledge index is still being built, so
 * no visitor gets an ungrounded answer from an instance that has just started. `/healthz` stays
 * 200 meanwhile: the process is alive, it is just not ready. SQLite is a file in the process: open
 * means reachable.
 *
 * It has no per-visitor limit: probes come from a few addresses (a load balancer's), and a 429
 * would read as "not ready" and take the instance out of rotation. Instead, one PING's answer
 * serves every probe for `PING_REUSE_MS` (and probes arriving while it is on its way share it), so
 * a flood of `/readyz` costs Redis about one PING a second per instance, whoever sends it. An
 * orchestrator probes every few seconds, so it always gets a fresh answer.
 */
export function readyzRouter(options: ReadyzOptions): Router {
  const router = strictRouter();
  let last: { at: number; reachable: Promise<boolean> } | undefined;
  const reachable = (redis: Redis): Promise<boolean> => {
    const now = Date.now();
    if (last === undefined || now - last.at >= PING_REUSE_MS) last = { at: now, reachable: ping(redis) };
    return last.reachable;
  };
  router.get('/readyz', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (options.redis !== undefined && !(await reachable(options.redis))) {
      sendApiError(res, new ApiError('upstream-unavailable', 503, 'The conversation store cannot be reached.', 5));
      return;
    }
    if (options.knowledgeReady !== undefined && !options.knowledgeReady()) {
      sendApiError(res, new ApiError('upstream-unavailable', 503, 'The knowledge index is still being built.', 5));
      return;
    }
    res.json({ status: 'ready' });
  });
  return router;
}

async function ping(redis: Redis): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), PING_TIMEOUT_MS);
    });
    return (await Promise.race([redis.ping(), timeout])) === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
