import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { ApiErrorBody, ApiErrorCode } from '@chatdrop/shared';
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';

/**
 * An error meant for the visitor: a contract code, an HTTP status and a message fit to show.
 * Thrown (or passed to `next`) anywhere before a stream starts; `apiErrorHandler` answers it.
 * Detail for the operator goes to the log, never into `message`.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: ApiErrorCode,
    readonly status: number,
    message: string,
    /** Seconds for `Retry-After`; sent on 429 and 503 (contract). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Writes the contract's error body. Kept here so every error leaves the server the same way. */
export function sendApiError(res: Response, error: ApiError): void {
  // For the metrics' "requests by outcome" (see `chat-route.ts`).
  res.locals.outcome = error.code;
  if (error.status === 429 || error.status === 503) {
    res.setHeader('Retry-After', String(error.retryAfterSeconds ?? 1));
  }
  const body: ApiErrorBody = { error: { code: error.code, message: error.message } };
  res.status(error.status).json(body);
}

/** Unknown paths under `/api` answer JSON, not Express's HTML page. */
export const apiNotFound: RequestHandler = (_req, _res, next) => {
  next(new ApiError('not-found', 404, 'There is nothing here.'));
};

/**
 * The one error-handling middleware. body-parser's errors carry a `type` and a `status`; they are
 * the visitor's mistakes (bad JSON, too big, odd encoding) and become 4xx, never 500. Anything
 * else is our fault: logged in full, answered with a plain `internal`.
 */
export const apiErrorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  const log = (res.locals.log as Logger | undefined);
  if (res.headersSent) {
    // A stream already started; its own code ends it. Nothing sensible is left to write.
    log?.error({ err: error }, 'error after the response started');
    next(error);
    return;
  }
  const apiError = toApiError(error);
  if (apiError.code === 'internal') {
    // The route pattern, not the URL: a URL may carry a conversation id, which is a credential.
    const route = (req.route as { path?: unknown } | undefined)?.path;
    log?.error({ err: error, method: req.method, route: typeof route === 'string' ? req.baseUrl + route : req.baseUrl }, 'unhandled error');
  }
  else if (error instanceof StoreUnavailableError) log?.error({ err: error, code: apiError.code }, 'store unavailable');
  // body-parser's messages quote the body ("Unexpected token ... "hello wor"... is not valid
  // JSON"), and a visitor's words stay out of the logs (issue 5): its error type says enough.
  else log?.info({ code: apiError.code, status: apiError.status, reason: error instanceof ApiError ? error.message : bodyErrorType(error) }, 'request refused');
  sendApiError(res, apiError);
};

function bodyErrorType(error: unknown): string {
  const type = (error as { type?: unknown } | null)?.type;
  if (typeof type === 'string') return type;
  return error instanceof URIError ? 'malformed-url' : 'unreadable-body';
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreUnavailableError) {
    return new ApiError('upstream-unavailable', 503, 'The chat is unavailable right now. Please try again in a moment.', 5);
  }
  const type = (error as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new ApiError('bad-request', 400, 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new ApiError('too-large', 413, 'The request is too large.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError('bad-request', 415, 'The request must be UTF-8 JSON.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ApiError('bad-request', 400, 'The request body could not be read.');
    default:
      break;
  }
  // Marked the client's own (a 4xx `status` and `statusCode`, as http-errors and Express's router
  // mark them; an SDK's error carries `status` only) but with no body-parser `type`: the router on
  // a path parameter whose %-escapes do not decode (a URIError), body-parser on a gzip, deflate or
  // br body that does not inflate (zlib's error). Their messages quote the request: never sent.
  const { status, statusCode } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500 && statusCode === status) {
    return new ApiError('bad-request', 400, error instanceof URIError ? 'The address of this request is not valid.' : 'The request body could not be read.');
  }
  return new ApiError('internal', 500, 'Something went wrong on our side. Please try again.');
}
