import { Router, type RequestHandler } from 'express';
import type { Conversation } from '@chatdrop/shared';
import type { ConversationStore } from '../store/conversation-store.js';
import { publicMessage } from '../store/public-message.js';
import { ApiError } from '../http/api-error.js';
import { deleteConversation } from './delete-conversation.js';
import type { ReplyBus } from '../replies/reply-bus/reply-bus.js';
import type { ReplyRegistry } from './reply-registry.js';
import { strictRouter } from '../http/strict-router.js';

/**
 * `GET` and `DELETE /api/conversations/:id`, mounted at `/api/conversations`. The id is the only
 * credential (issue 3/5): unknown and malformed ids get the same 404, and nothing lists
 * conversations (`GET /api/conversations` falls through to the API's 404).
 *
 * "Constant-time lookups": the id is never compared with a secret in JavaScript, where an
 * early-exit `===` could leak how many leading characters matched. It is only ever a key handed
 * to the store (SQLite's primary-key index, a Redis key), so what a timing probe could learn is
 * whether a 128-bit random id exists, by hitting it exactly; guessing one is the real defence, and
 * that is 2^128 tries.
 *
 * Each route first counts against its per-visitor limit (`ConversationRateLimits`): reads and
 * deletes both reach the store, which every visitor shares.
 */
export function conversationsRouter(options: {
  store: ConversationStore;
  replies: ReplyRegistry;
  bus: ReplyBus;
  limits: { read: RequestHandler<{ id: string }>; action: RequestHandler<{ id: string }> };
}): Router {
  const { store, replies, bus, limits } = options;
  const router = strictRouter();

  router.get('/:id', limits.read, async (req, res) => {
    const conversation = await store.getConversation(req.params.id);
    if (conversation === undefined) throw notFound();
    // Exactly the contract's fields, whatever else a store may carry.
    const body: Conversation = { id: conversation.id, messages: conversation.messages.map(publicMessage) };
    // A conversation is private to whoever holds its id: no shared cache may keep it.
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  });

  router.delete('/:id', limits.action, async (req, res) => {
    if (!(await deleteConversation({ store, replies, bus }, req.params.id))) throw notFound();
    res.status(204).end();
  });

  return router;
}

function notFound(): ApiError {
  return new ApiError('not-found', 404, 'This conversation does not exist.');
}
