import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

/** An id a proxy in front of us may already have given the request (nginx `$request_id`). */
const INCOMING_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Gives every request an id (the `X-Request-Id` header, both ways) and a child logger carrying it
 * on `res.locals.log`, so every log line of a request can be found from one id (issue 2/5).
 * Logs one line per request when the response is done: route, status, duration; never bodies.
 */
export function requestId(logger: Logger, now: () => number): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const id = incoming !== undefined && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    const started = now();
    const log = logger.child({ reqId: id });
    res.locals.requestId = id;
    res.locals.log = log;
    res.setHeader('X-Request-Id', id);
    res.on('close', () => {
      log.info(
        {
          method: req.method,
          // The matched route pattern keeps conversation ids (credentials) out of the log.
          route: routeOf(req.baseUrl, req.route as { path?: unknown } | undefined) ?? unmatched(req.path),
          status: res.statusCode,
          durationMs: now() - started,
          finished: res.writableFinished,
        },
        'request done',
      );
    });
    next();
  };
}

function routeOf(baseUrl: string, route: { path?: unknown } | undefined): string | undefined {
  if (typeof route?.path !== 'string') return undefined;
  // A router's own root (`router.post('/')` under `/api/chat`) is logged as `/api/chat`.
  return route.path === '/' && baseUrl !== '' ? baseUrl : baseUrl + route.path;
}

/**
 * A path no route took (a 404, a trailing slash too many): its first two segments only, as what
 * follows them may be an id, and ids are credentials: `/api/conversations/<id>/` is logged as
 * `/api/conversations/…`. One split with a limit: linear whatever the path.
 */
function unmatched(path: string): string {
  const parts = path.split('/', 4);
  return parts.length > 3 ? `${parts.slice(0, 3).join('/')}/…` : path;
}

/** The request's logger, set by `requestId`. */
export function requestLog(res: { locals: Record<string, unknown> }): Logger {
  return res.locals.log as Logger;
}
