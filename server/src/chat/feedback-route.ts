import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { ConversationStore } from '../store/conversation-store.js';
import { ApiError } from '../http/api-error.js';
import { jsonBody } from '../http/json-body.js';
import { strictRouter } from '../http/strict-router.js';

const feedbackSchema = z.object({
  conversationId: z.string().max(200),
  messageId: z.string().max(200),
  rating: z.enum(['up', 'down']),
});

/**
 * `POST /api/feedback`, mounted at `/api/feedback`: a thumbs up or down for one assistant
 * message, last one wins (issue 3). 404 unless the message is an assistant message of that
 * conversation. Counted against the visitor's action limit (`ConversationRateLimits`) before the
 * body is read.
 */
export function feedbackRouter(options: { store: ConversationStore; limit: RequestHandler }): Router {
  const router = strictRouter();
  router.post('/', options.limit, ...jsonBody('4kb'), async (req, res) => {
    const parsed = feedbackSchema.safeParse(req.body);
    if (!parsed.success) {
      throw new ApiError('bad-request', 400, 'Feedback needs a conversationId, a messageId and a rating of "up" or "down".');
    }
    const { conversationId, messageId, rating } = parsed.data;
    if (!(await options.store.setFeedback(conversationId, messageId, rating))) {
      throw new ApiError('not-found', 404, 'There is no such answer to rate.');
    }
    res.status(204).end();
  });
  return router;
}
