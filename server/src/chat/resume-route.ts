import type { RequestHandler, Response } from 'express';
import { ApiError } from '../http/api-error.js';
import { clientKey } from '../limits/client-key.js';
import type { ConcurrencyLimiter } from '../limits/concurrency-limiter.js';
import type { ReplyBus } from '../replies/reply-bus/reply-bus.js';
import { requestLog } from '../http/request-id.js';
import { SseResponse } from '../http/sse-response.js';
import { isWellFormedId } from '../store/new-id.js';
import type { StreamBuffer } from '../replies/stream-buffer/stream-buffer.js';
import { StreamGapError } from '../replies/stream-buffer/stream-gap-error.js';

export interface ResumeRouteOptions {
  buffer: StreamBuffer;
  bus: ReplyBus;
  /** `CHATDROP_RESUME_GRACE_MS`: a resumed reader announces itself well within it. */
  resumeGraceMs: number;
  /** The stream slots of `POST /api/chat`: a resumed reader holds one while it reads. */
  limiter: ConcurrencyLimiter;
  /** `CHATDROP_MAX_STREAMS_PER_IP`. */
  maxStreams: number;
}

/** Longest a resumed reader waits for its first event before the headers go out anyway. */
const HEADERS_AFTER_MS = 250;
const MAX_ANNOUNCE_EVERY_MS = 2_000;

/**
 * `GET /api/chat/:messageId/stream` with `Last-Event-ID` (issue 6): the events after that id,
 * then live ones to `message-end`; `204` when there is nothing to resume.
 *
 * The stream buffer replays and follows the reply, wherever it runs (memory on one instance, Redis
 * for several). While the reader reads, the instance running the reply is told a reader is there
 * (the reply bus: a map lookup when it runs here), every few seconds, so the resume grace does not
 * abort a reply somebody is reading.
 *
 * Ids go out as they were first sent, so the widget dedupes nothing and misses nothing.
 *
 * A resumed reader is a stream like any other for the visitor's limits: the route sits behind the
 * chat rate limit, and the reader holds one of the visitor's stream slots (`clientKey`, so one
 * IPv6 network counts once) for as long as it reads. Otherwise one visitor could open a reader
 * per request, each holding a socket and a share of the instance's memory and Redis reading.
 */
export function resumeRoute(options: ResumeRouteOptions): RequestHandler {
  const { buffer, limiter, maxStreams } = options;
  return async (req, res) => {
    // Before any await (STYLE): a reader gone during the first round trip to Redis stops here.
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const messageId = String(req.params.messageId);
    const afterId = parseLastEventId(req.get('last-event-id'));
    // Not one of our ids: nothing to resume, and no work (or Redis traffic) for it.
    if (!isWellFormedId(messageId) || !(await buffer.has(messageId))) {
      res.status(204).end();
      return;
    }
    if (controller.signal.aborted) return;
    // Readers count apart from the visitor's running replies: resuming one's own reply after a
    // dropped connection must not need a second slot beside the one that reply holds (with a
    // limit of 1 it could never be resumed). Readers per visitor are bounded all the same.
    const release = await limiter.acquire(`resume:${clientKey(req)}`, maxStreams);
    if (release === undefined) {
      throw new ApiError('busy', 429, 'You already have answers on the way. Please wait for them to finish.', 5);
    }
    try {
      await follow(options, { res, messageId, afterId, signal: controller.signal });
    } finally {
      // Redis away: the slot's lease lets it lapse by itself.
      await release().catch(() => {});
    }
  };
}

/** Replays and follows one stream into the response, announcing the reader while it reads. */
async function follow(
  options: ResumeRouteOptions,
  reader: { res: Response; messageId: string; afterId: number; signal: AbortSignal },
): Promise<void> {
  const { buffer, bus, resumeGraceMs } = options;
  const { res, messageId, afterId, signal } = reader;
  if (signal.aborted) return;
  const announce = (): void => {
    bus.announceReader(messageId).catch(() => {}); // Redis away: the grace decides, as for any lost reader
  };
  announce();
  const announcer = setInterval(announce, Math.max(100, Math.min(MAX_ANNOUNCE_EVERY_MS, resumeGraceMs / 3)));
  announcer.unref();

  const sse = new SseResponse(res, { firstId: afterId + 1 });
  let started = false;
  const start = (): void => {
    if (started || signal.aborted) return;
    started = true;
    sse.start();
  };
  // A live stream may be quiet for a while (waiting for its first token): the headers go out
  // soon anyway, so the browser knows it is attached and pings keep the connection open.
  const headersTimer = setTimeout(start, HEADERS_AFTER_MS);
  let failure: unknown;
  try {
    // The buffer yields ids afterId + 1, + 2, ... or throws StreamGapError: never a skipped event.
    for await (const { event } of buffer.read(messageId, afterId, signal)) {
      start();
      sse.send(event);
    }
  } catch (error) {
    failure = error;
  } finally {
    clearInterval(announcer);
    clearTimeout(headersTimer);
  }
  if (started) {
    // The widget resumes again from the last id it has; the stored reply is its fallback.
    if (failure !== undefined) requestLog(res).warn({ err: failure, messageId }, 'could not resume the stream');
    sse.end();
    return;
  }
  if (res.headersSent || signal.aborted) return;
  // Redis away is not "nothing to resume": 503 with Retry-After (the error handler), so the
  // widget tries again; events trimmed from the buffer cannot be replayed: 204, read the store.
  if (failure !== undefined && !(failure instanceof StreamGapError)) throw failure;
  if (failure !== undefined) requestLog(res).warn({ err: failure, messageId }, 'could not resume the stream');
  res.status(204).end();
}

/** Missing means from the start; anything but a small non-negative integer is the caller's mistake. */
function parseLastEventId(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 0;
  if (!/^\d{1,9}$/.test(value.trim())) throw new ApiError('bad-request', 400, 'Last-Event-ID must be an event id.');
  return Number(value.trim());
}
