import { Router, type RequestHandler } from 'express';
import type OpenAI from 'openai';
import type { Source } from '@chatdrop/shared';
import type { Store as RateLimitStore } from 'express-rate-limit';
import type { Logger } from 'pino';
import { outputCap, visitorModels, type Config } from '../config.js';
import type { ConcurrencyLimiter, ReleaseSlot } from '../limits/concurrency-limiter.js';
import type { BudgetReservation, TokenBudget } from '../limits/token-budget.js';
import type { Metrics } from '../observability/metrics.js';
import type { ConversationStore, StoredMessage } from '../store/conversation-store.js';
import { ApiError } from '../http/api-error.js';
import { checkConversationCaps } from './conversation-caps.js';
import { chatRateLimit } from '../limits/chat-rate-limit.js';
import { clientKey } from '../limits/client-key.js';
import { parseChatRequest } from './chat-request-schema.js';
import { buildUpstreamMessages } from './history.js';
import { jsonBody } from '../http/json-body.js';
import { ReplyRun, type ReplySummary } from './reply-run.js';
import type { ReplyBus } from '../replies/reply-bus/reply-bus.js';
import type { ReplyRegistry } from './reply-registry.js';
import { requestLog } from '../http/request-id.js';
import { resumeRoute } from './resume-route.js';
import { SseResponse } from '../http/sse-response.js';
import { isWellFormedId } from '../store/new-id.js';
import { groundQuestion, type ChatKnowledge } from '../knowledge/ground-question.js';
import type { StreamBuffer } from '../replies/stream-buffer/stream-buffer.js';
import { strictRouter } from '../http/strict-router.js';

export interface ChatRouteOptions {
  config: Config;
  store: ConversationStore;
  openai: OpenAI;
  replies: ReplyRegistry;
  now: () => number;
  /** Stream slots per client IP (`CHATDROP_MAX_STREAMS_PER_IP`). */
  limiter: ConcurrencyLimiter;
  /** The site's daily token budget; consulted only when `config.dailyTokenBudget` is set. */
  budget: TokenBudget;
  metrics: Metrics;
  rateLimitStore?: RateLimitStore;
  /** The app's logger, for what the rate limiter has to say outside any request. */
  logger?: Logger;
  /** Every reply's events, for resuming (memory, or Redis shared by the instances). */
  buffer: StreamBuffer;
  /** Stop and reader news for a reply, whichever instance runs it. */
  bus: ReplyBus;
  /** With `CHATDROP_KNOWLEDGE`: each question is grounded in the site's passages first. */
  knowledge?: ChatKnowledge;
  /** Stop's per-visitor limit, shared with feedback and deletes (`ConversationRateLimits.action`). */
  stopLimit: RequestHandler<{ messageId: string }>;
}

/**
 * `POST /api/chat` and the two routes about a running reply, mounted at `/api/chat`.
 *
 * The path of a turn: rate limit → validate → a stream slot for the client IP (`busy`) → find the
 * conversation → its caps and the history within the token budget (`too-large`) → a hold on the
 * site's daily budget for the input and the output cap (`budget-exceeded`), all before any write
 * or upstream call → in one store step, the conversation if new, the visitor's message and an
 * empty `incomplete` reply → stream. The slot and the hold last until the reply ends (not until
 * the reader leaves: the upstream call is what costs), when the hold settles to what the reply
 * spent; every path that does not reach the stream gives both back. From there the `ReplyRun` owns the reply; this
 * response is only its reader, and leaving as a reader is what aborts the upstream (after the
 * resume grace).
 */
export function chatRouter(options: ChatRouteOptions): Router {
  const { config, store, openai, replies, now, limiter, budget, metrics, buffer, bus } = options;
  const router = strictRouter();
  const models = visitorModels(config);
  const aliases = models.map((m) => m.alias);
  // A message at the limit fits even if every character arrives as a 6-byte `\uXXXX` escape.
  const bodyLimit = Math.max(16 * 1024, config.maxMessageChars * 6 + 4096);

  // Requests by outcome (metrics): a refused request counts when its answer is done; a streamed
  // one when its reply ends (`onEnd`), which may be after its reader has gone.
  const countOutcome: RequestHandler = (_req, res, next) => {
    res.on('close', () => {
      if (res.locals.streamed !== true) metrics.chatRequests.inc({ outcome: String(res.locals.outcome ?? `http-${res.statusCode}`) });
    });
    next();
  };

  // One counter for a visitor's chat requests and resumes alike (each opens a stream).
  const rateLimit = chatRateLimit(config.rateLimitPerMinute, options.rateLimitStore, options.logger);

  router.post('/', countOutcome, rateLimit, ...jsonBody(bodyLimit), async (req, res, next) => {
    // Attached before any await (STYLE: Express 5 fires req 'close' once the body is read, so it
    // is the response's close that tells us the browser has gone).
    let readerGone = false;
    let detach: (() => void) | undefined;
    res.on('close', () => {
      readerGone = true;
      detach?.();
    });

    let release: ReleaseSlot | undefined;
    let reservation: BudgetReservation | undefined;
    try {
      const request = parseChatRequest(req.body, { maxMessageChars: config.maxMessageChars, modelAliases: aliases, modelChoice: config.modelPicker });
      const model = models.find((m) => m.alias === request.modelAlias);
      if (model === undefined) throw new ApiError('unknown-model', 400, 'That model is not available here.');

      release = await limiter.acquire(clientKey(req), config.maxStreamsPerIp);
      if (release === undefined) {
        throw new ApiError('busy', 429, 'You already have answers on the way. Please wait for them to finish.', 5);
      }

      let conversationId: string | undefined;
      let history: readonly StoredMessage[] = [];
      if (request.conversationId !== undefined) {
        const conversation = await store.getConversation(request.conversationId);
        // An unknown id is not quietly replaced by a new conversation (issue 3): the widget
        // decides what to do when its conversation is gone.
        if (conversation === undefined) throw new ApiError('not-found', 404, 'This conversation no longer exists.');
        conversationId = conversation.id;
        history = conversation.messages;
      }
      // The widget's Retry sends the question of a failed reply again: it is stored already, so
      // it is asked again in its place rather than stored twice, and the failed reply makes way.
      const retry = failedTurn(history, request.message);
      if (retry !== undefined) history = history.slice(0, -2);
      checkConversationCaps(history, request.message, config);

      // Retrieval runs once, before the upstream call; nothing of it runs per token.
      let systemPrompt = config.systemPrompt;
      let sources: Source[] | undefined;
      if (options.knowledge !== undefined) {
        ({ systemPrompt, sources } = await groundQuestion(options.knowledge, { config, question: request.message, history, log: requestLog(res) }));
      }
      const built = buildUpstreamMessages({
        systemPrompt,
        history,
        message: request.message,
        budgetTokens: config.historyTokens,
      });
      if ('error' in built) throw new ApiError('too-large', 413, 'Your message is too long for the assistant. Please shorten it.');
      const maxOutputTokens = outputCap(config, model.alias);
      if (config.dailyTokenBudget !== undefined) {
        // The most this reply can cost, held before the upstream call (see `TokenBudget`).
        reservation = await budget.reserve({ inputTokens: built.inputTokens, outputTokens: maxOutputTokens }, config.dailyTokenBudget);
        if (reservation === undefined) {
          // 503, not 429: the site is out of budget, not this visitor too fast. The message says
          // nothing about money or tokens; Retry-After is the next UTC midnight.
          throw new ApiError(
            'budget-exceeded',
            503,
            'The assistant has answered all the questions it can for today. Please come back tomorrow.',
            budget.secondsUntilReset(),
          );
        }
      }
      // The visitor's words are stored before the upstream call: nothing they typed is lost.
      if (retry !== undefined) {
        // It may still be running (its reader dropped before it knew the id, and the grace has
        // not run out), here or on another instance: stop it first, so nobody pays for it twice.
        await bus.requestStop(retry.reply.id);
        await replies.get(retry.reply.id)?.done;
      }
      // One step: the conversation if new, the failed reply of a Retry gone, the question (with
      // its token count, so later turns need not count it again), the empty reply, and the counts
      // of earlier replies counted for this history.
      const turn = await store.appendTurn({
        counts: built.counted,
        ...(conversationId === undefined ? {} : { conversationId }),
        ...(retry === undefined
          ? { question: { role: 'user', content: request.message, status: 'complete', tokens: built.messageTokens, page: request.page } }
          : { replaces: retry.reply.id }),
        reply: { role: 'assistant', content: '', status: 'incomplete', ...(sources === undefined ? {} : { sources }) },
      });
      if (turn === undefined) throw new ApiError('not-found', 404, 'This conversation no longer exists.');
      conversationId = turn.conversationId;
      const reply = turn.reply;

      const log = requestLog(res);
      const slot = release;
      const hold = reservation;
      release = undefined; // from here the run gives the slot back, and settles the hold
      reservation = undefined;
      res.locals.streamed = true;
      metrics.activeStreams.inc();
      const run = new ReplyRun({
        openai,
        store,
        log,
        conversationId,
        messageId: reply.id,
        modelAlias: model.alias,
        model: model.model,
        fallbackModel: config.fallbacks.get(model.alias),
        messages: built.messages,
        sources,
        inputTokens: built.inputTokens,
        firstTokenTimeoutMs: config.firstTokenTimeoutMs,
        idleTimeoutMs: config.idleTimeoutMs,
        maxOutputTokens,
        maxTokensField: config.maxTokensField,
        resumeGraceMs: config.resumeGraceMs,
        buffer,
        now,
        logContent: config.logContent,
        onUpstreamError: (error) => metrics.upstreamFailed(error),
        // A failed model that may have been billed, before its fallback: counted at once.
        onAttemptBilled: hold === undefined ? undefined : (cost) => budget.extend(hold, cost.inputTokens + cost.outputTokens),
        onEnd: accountFor({ metrics, budget, hold, slot, log }),
      });
      replies.add(run);
      const unregister = [bus.onStop(run.messageId, () => run.abort('stop')), bus.onReader(run.messageId, () => run.readerSeen())];
      void run.done.then(() => unregister.forEach((off) => off()));

      const sse = new SseResponse(res);
      if (!readerGone) sse.start();
      detach = run.read((event) => {
        sse.send(event);
        if (event.type === 'message-end') sse.end();
      });
      // The browser left while we were preparing, before it could learn the message id: nobody
      // can resume this (a Stop pressed now could not name it), so it is not worth a grace.
      if (readerGone) run.abort('disconnect');
      // Not awaited: the run owns the reply from here and never rejects, so this handler returns
      // at once, and what only it held (the history, the request, its router frames) is freed
      // for the minutes a reply may stream, instead of living as long as the stream.
      void run.run();
    } catch (error) {
      await release?.().catch(() => {});
      // Refused before the upstream call: nothing was spent.
      if (reservation !== undefined) await budget.settle(reservation, 0).catch((e: unknown) => requestLog(res).error({ err: e }, 'could not give back a budget hold'));
      next(error);
    }
  });

  router.post('/:messageId/stop', options.stopLimit, async (req, res) => {
    // 204 whether or not it was still running: the outcome the caller wants holds either way,
    // and the answer does not reveal which message ids exist. The instance running it (this one
    // or another, through the bus) aborts the upstream request at once.
    if (isWellFormedId(req.params.messageId)) await bus.requestStop(req.params.messageId);
    res.status(204).end();
  });

  router.get('/:messageId/stream', rateLimit, resumeRoute({ buffer, bus, resumeGraceMs: config.resumeGraceMs, limiter, maxStreams: config.maxStreamsPerIp }));

  return router;
}

/**
 * The last turn, when the new message asks its question again and its reply did not finish
 * (stored `incomplete`: an error, a timeout, Stop, a crash, or still running for nobody).
 */
function failedTurn(history: readonly StoredMessage[], message: string): { question: StoredMessage; reply: StoredMessage } | undefined {
  const [question, reply] = history.slice(-2);
  if (question?.role !== 'user' || question.content !== message) return undefined;
  if (reply?.role !== 'assistant' || reply.status !== 'incomplete') return undefined;
  return { question, reply };
}

/**
 * What happens when a reply ends, before its `message-end` goes out: the metrics, the stream slot
 * given back, and the budget's hold settled to the tokens the reply spent (from the usage chunk,
 * or our own count when there was none; see `ReplyRun` for what a failed reply costs). Failures
 * are logged; the visitor's reply is not affected.
 */
function accountFor(parts: {
  metrics: Metrics;
  budget: TokenBudget;
  /** Undefined when the site has no daily budget. */
  hold: BudgetReservation | undefined;
  slot: ReleaseSlot;
  log: Logger;
}): (summary: ReplySummary) => Promise<void> {
  const { metrics, budget, hold, slot, log } = parts;
  return async (summary) => {
    metrics.activeStreams.dec();
    metrics.replyEnded(summary);
    // What the reply cost, and what a model that failed before its fallback may have cost too.
    const earlier = summary.failedAttemptsUsage;
    const spent = summary.usage.inputTokens + summary.usage.outputTokens + earlier.inputTokens + earlier.outputTokens;
    await Promise.all([
      slot().catch((error: unknown) => log.error({ err: error }, 'could not release the stream slot')),
      hold === undefined
        ? undefined
        : budget
            .settle(hold, spent)
            .then(() => budget.used())
            .then((used) => metrics.budgetUsed.set(used))
            .catch((error: unknown) => log.error({ err: error, tokens: spent }, 'could not count tokens against the daily budget')),
    ]);
  };
}
