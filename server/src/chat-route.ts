import { Router } from 'express';
import type OpenAI from 'openai';
import type { ChatMessage } from '@chatdrop/shared';
import type { Config } from './config.js';
import type { ConversationStore } from './store/conversation-store.js';
import { ApiError } from './api-error.js';
import { chatRateLimit } from './chat-rate-limit.js';
import { parseChatRequest } from './chat-request-schema.js';
import { buildUpstreamMessages } from './history.js';
import { jsonBody } from './json-body.js';
import { ReplyRun } from './reply-run.js';
import type { ReplyRegistry } from './reply-registry.js';
import { requestLog } from './request-id.js';
import { SseResponse } from './sse-response.js';

export interface ChatRouteOptions {
  config: Config;
  store: ConversationStore;
  openai: OpenAI;
  replies: ReplyRegistry;
  now: () => number;
}

/**
 * `POST /api/chat` and the two routes about a running reply, mounted at `/api/chat`.
 *
 * The path of a turn: validate → find or create the conversation → history within the token
 * budget (`too-large` before any upstream call) → store the visitor's message → store an empty
 * `incomplete` reply → stream. From there the `ReplyRun` owns the reply; this response is only
 * its reader, and leaving as a reader is what aborts the upstream (after the resume grace).
 */
export function chatRouter(options: ChatRouteOptions): Router {
  const { config, store, openai, replies, now } = options;
  const router = Router();
  const aliases = config.models.map((m) => m.alias);
  // A message at the limit fits even if every character arrives as a 6-byte `\uXXXX` escape.
  const bodyLimit = Math.max(16 * 1024, config.maxMessageChars * 6 + 4096);

  router.post('/', chatRateLimit(config.rateLimitPerMinute), ...jsonBody(bodyLimit), async (req, res, next) => {
    // Attached before any await (STYLE: Express 5 fires req 'close' once the body is read, so it
    // is the response's close that tells us the browser has gone).
    let readerGone = false;
    let detach: (() => void) | undefined;
    res.on('close', () => {
      readerGone = true;
      detach?.();
    });

    try {
      const request = parseChatRequest(req.body, { maxMessageChars: config.maxMessageChars, modelAliases: aliases });
      const model = config.models.find((m) => m.alias === request.modelAlias);
      if (model === undefined) throw new ApiError('unknown-model', 400, 'That model is not available here.');

      let conversationId: string;
      let history: readonly ChatMessage[] = [];
      if (request.conversationId !== undefined) {
        const conversation = await store.getConversation(request.conversationId);
        // An unknown id is not quietly replaced by a new conversation (issue 3): the widget
        // decides what to do when its conversation is gone.
        if (conversation === undefined) throw new ApiError('not-found', 404, 'This conversation no longer exists.');
        conversationId = conversation.id;
        history = conversation.messages;
      } else {
        conversationId = await store.createConversation();
      }

      const built = buildUpstreamMessages({
        systemPrompt: config.systemPrompt,
        history,
        message: request.message,
        budgetTokens: config.historyTokens,
      });
      if ('error' in built) throw new ApiError('too-large', 413, 'Your message is too long for the assistant. Please shorten it.');

      // The visitor's words are stored before the upstream call: nothing they typed is lost.
      const question = await store.appendMessage(conversationId, { role: 'user', content: request.message, status: 'complete' });
      const reply = question && (await store.appendMessage(conversationId, { role: 'assistant', content: '', status: 'incomplete' }));
      if (reply === undefined) throw new ApiError('not-found', 404, 'This conversation no longer exists.');

      const run = new ReplyRun({
        openai,
        store,
        log: requestLog(res),
        conversationId,
        messageId: reply.id,
        modelAlias: model.alias,
        model: model.model,
        messages: built.messages,
        inputTokens: built.inputTokens,
        firstTokenTimeoutMs: config.firstTokenTimeoutMs,
        idleTimeoutMs: config.idleTimeoutMs,
        resumeGraceMs: config.resumeGraceMs,
        now,
      });
      replies.add(run);

      const sse = new SseResponse(res);
      if (!readerGone) sse.start();
      detach = run.read((event) => {
        sse.send(event);
        if (event.type === 'message-end') sse.end();
      });
      // The browser left while we were preparing: there is no reader, so the run ends at once.
      if (readerGone) detach();
      await run.run();
    } catch (error) {
      next(error);
    }
  });

  router.post('/:messageId/stop', (req, res) => {
    // 204 whether or not it was still running: the outcome the caller wants holds either way,
    // and the answer does not reveal which message ids exist.
    replies.abort(req.params.messageId, 'stop');
    res.status(204).end();
  });

  // Resumable streams arrive with issue 6; until then there is never anything to resume.
  router.get('/:messageId/stream', (_req, res) => {
    res.status(204).end();
  });

  return router;
}
