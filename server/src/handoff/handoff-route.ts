import type { RequestHandler, Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ApiError, sendApiError } from '../http/api-error.js';
import { jsonBody } from '../http/json-body.js';
import { strictRouter } from '../http/strict-router.js';
import { visitorRateLimit } from '../limits/visitor-rate-limit.js';
import type { ConversationStore } from '../store/conversation-store.js';
import type { Transcript } from '../store/inbox-query.js';
import { isPlausibleEmail, MAX_EMAIL_LENGTH } from './email-address.js';
import type { TranscriptEntry } from './handoff-outbox.js';
import type { HandoffService } from './handoff-service.js';

/** The longest note a visitor may leave (the widget's field stops there too). */
export const MAX_NOTE_CHARS = 2000;
/** New hand-offs one conversation may make per hour, whichever instance takes them. */
export const HANDOFFS_PER_CONVERSATION_PER_HOUR = 3;
/** The same email, note and transcript again within this is the same hand-off (a double click, a retry). */
export const DUPLICATE_WINDOW_MS = 10 * 60 * 1000;

const HOUR_MS = 60 * 60 * 1000;
// Room for a note at the limit with every character escaped as \uXXXX, and an email likewise.
const BODY_LIMIT = (MAX_NOTE_CHARS + MAX_EMAIL_LENGTH) * 6 + 4096;

const requestSchema = z.object({
  conversationId: z.string().max(200),
  email: z.string(),
  note: z.string().nullish(),
});

export interface HandoffRouteOptions {
  store: ConversationStore;
  handoff: HandoffService;
  now: () => number;
  logger?: Logger;
}

/**
 * `POST /api/handoff`, mounted at `/api/handoff`: the visitor asks a person to answer by email.
 *
 * Per address limit → JSON body → the request's shape and sizes → the conversation must exist →
 * the outbox stores the hand-off with a snapshot of the transcript, checking in the same step
 * for a repeat (answered with the first hand-off, nothing new sent) and the per-conversation
 * limit → `202` → the dispatcher is told, and delivers from the outbox. So `202` means stored,
 * not yet delivered: the outbox retries until every channel took it (or 24 hours have passed).
 *
 * A second hand-off for the same conversation, with other words or a longer transcript, is its
 * own hand-off with its own deliveries: the visitor asked again, maybe after more chat.
 */
export function handoffRouter(options: HandoffRouteOptions): Router {
  const { store, handoff, now } = options;
  const router = strictRouter();

  router.post('/', addressLimit(handoff, options.logger), ...jsonBody(BODY_LIMIT), async (req, res) => {
    const request = parseHandoffRequest(req.body);
    // The inbox's read: the messages and the page the conversation started on, in one.
    const conversation = await store.getTranscript(request.conversationId);
    if (conversation === undefined) throw new ApiError('not-found', 404, 'This conversation no longer exists.');

    const result = await handoff.outbox.add(
      {
        conversationId: conversation.id,
        conversationCreatedAt: Date.parse(conversation.createdAt),
        email: request.email,
        note: request.note,
        page: conversation.page ?? null,
        transcript: transcriptOf(conversation),
        channels: handoff.channels,
      },
      { now: now(), duplicateWindowMs: DUPLICATE_WINDOW_MS, perConversation: HANDOFFS_PER_CONVERSATION_PER_HOUR, windowMs: HOUR_MS },
    );
    if (result.outcome === 'limited') {
      throw new ApiError(
        'rate-limited',
        429,
        'The team already has this conversation. Please wait for their email before asking again.',
        Math.ceil(result.retryAfterMs / 1000),
      );
    }
    if (result.outcome === 'stored') handoff.dispatcher.poke();
    (res.locals.log as Logger | undefined)?.info({ handoffId: result.id, outcome: result.outcome }, 'hand-off accepted');
    res.status(202).json({ id: result.id });
  });
  return router;
}

/** The body as typed values, or the contract's 400/413 with words a visitor can act on. */
export function parseHandoffRequest(body: unknown): { conversationId: string; email: string; note: string | null } {
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    throw new ApiError('bad-request', 400, 'A hand-off needs a conversationId, an email address and, if you like, a note.');
  }
  const email = parsed.data.email.trim();
  if (!isPlausibleEmail(email)) throw new ApiError('bad-request', 400, 'Please enter a valid email address, like name@example.com.');
  const note = parsed.data.note?.trim() ?? '';
  // Counted in code points, as the widget's maxlength counts what the visitor sees.
  if ([...note].length > MAX_NOTE_CHARS) {
    throw new ApiError('too-large', 413, `Your note is too long. Please keep it under ${MAX_NOTE_CHARS} characters.`);
  }
  return { conversationId: parsed.data.conversationId, email, note: note === '' ? null : note };
}

/** Every message with words in it, in order; a reply that never started has none to hand over. */
function transcriptOf(conversation: Transcript): TranscriptEntry[] {
  return conversation.messages
    .filter((message) => message.content !== '')
    .map((message) => ({ role: message.role, content: message.content, createdAt: message.createdAt }));
}

/**
 * Hand-offs per address (`clientKey`: an IPv4 address, an IPv6 /56) per hour
 * (`CHATDROP_HANDOFF_RATE_LIMIT`), counted across instances through Redis when shared. When that
 * store is away the request goes on (`passOnStoreError`): the outbox, on the same Redis, then
 * answers the contract's 503, which says more than a limiter's 500.
 */
function addressLimit(handoff: HandoffService, logger: Logger | undefined): RequestHandler {
  return visitorRateLimit({
    limit: handoff.perAddressPerHour,
    windowMs: HOUR_MS,
    message: 'Too many requests to talk to a person. Please try again later.',
    ...(handoff.rateLimitStore === undefined ? {} : { store: handoff.rateLimitStore }),
    ...(logger === undefined ? {} : { logger }),
  });
}
