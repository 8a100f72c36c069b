import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRateLimitStore } from './rate-limit-store.js';
import { visitorRateLimit } from './visitor-rate-limit.js';

/**
 * What one visitor may do per minute with the routes about a conversation that start no reply.
 * Each touches the store (SQLite, or Redis shared by every instance), so without a limit one
 * visitor could keep it busy for everyone. Conversation ids are 128-bit random, so this is about
 * load, not guessing.
 */
export interface ConversationRateLimits {
  /**
   * `GET /api/conversations/:id`, `CHATDROP_READ_RATE_LIMIT` a minute. The widget reads its
   * conversation once per page view and again in every other open tab whenever a reply ends, so
   * a visitor with several tabs open and chatting at the chat limit reads a few times a second at
   * the very most; the default leaves room for that many times over.
   */
  read: RequestHandler;
  /**
   * `POST /api/feedback`, `DELETE /api/conversations/:id` and `POST /api/chat/:id/stop`, one
   * counter for all three: each is a click (a rating, "delete my conversation", Stop), and a
   * person does not click these once a second for a minute.
   */
  action: RequestHandler;
}

/** Feedback, deletes and Stops together, per visitor per minute (see `ConversationRateLimits.action`). */
export const ACTIONS_PER_MINUTE = 60;

export interface ConversationRateLimitsOptions {
  readsPerMinute: number;
  /** The instance's Redis (`REDIS_URL`): the counts live there, under `chatdrop:`, shared by the instances. */
  redis?: Redis;
  logger?: Logger;
}

export function conversationRateLimits(options: ConversationRateLimitsOptions): ConversationRateLimits {
  const { redis, logger } = options;
  // One store per limiter (express-rate-limit refuses a shared one); the same prefix on every
  // instance, so they count together. rate-limit-redis expires each key with its window.
  const store = (prefix: string) => (redis === undefined ? {} : { store: createRateLimitStore(redis, prefix) });
  return {
    read: visitorRateLimit({
      limit: options.readsPerMinute,
      windowMs: 60_000,
      message: 'Too many requests for this conversation. Please wait a moment and try again.',
      ...store('chatdrop:read-rate:'),
      ...(logger === undefined ? {} : { logger }),
    }),
    action: visitorRateLimit({
      limit: ACTIONS_PER_MINUTE,
      windowMs: 60_000,
      message: 'Too many requests. Please wait a moment and try again.',
      ...store('chatdrop:action-rate:'),
      ...(logger === undefined ? {} : { logger }),
    }),
  };
}
