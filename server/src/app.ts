import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Redis } from 'ioredis';
import type OpenAI from 'openai';
import type { Store as RateLimitStore } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { ConcurrencyLimiter } from './limits/concurrency-limiter.js';
import { MemoryConcurrencyLimiter } from './limits/memory-concurrency-limiter.js';
import { MemoryTokenBudget } from './limits/memory-token-budget.js';
import type { TokenBudget } from './limits/token-budget.js';
import { Metrics } from './observability/metrics.js';
import { metricsRouter } from './observability/metrics-route.js';
import type { ConversationStore } from './store/conversation-store.js';
import { apiErrorHandler, apiNotFound } from './http/api-error.js';
import { chatRouter } from './chat/chat-route.js';
import { configRouter } from './http/config-route.js';
import { conversationsRouter } from './chat/conversations-route.js';
import { cors } from './http/cors.js';
import { feedbackRouter } from './chat/feedback-route.js';
import { conversationRateLimits } from './limits/conversation-rate-limits.js';
import { MemoryReplyBus } from './replies/reply-bus/memory-reply-bus.js';
import type { ReplyBus } from './replies/reply-bus/reply-bus.js';
import { ReplyRegistry } from './chat/reply-registry.js';
import { requestId } from './http/request-id.js';
import { securityHeaders } from './http/security-headers.js';
import { STRICT_ROUTING, strictRouter } from './http/strict-router.js';
import { MemoryStreamBuffer } from './replies/stream-buffer/memory-stream-buffer.js';
import { runningTtlMs, type StreamBuffer } from './replies/stream-buffer/stream-buffer.js';
import { demoRouter } from './http/demo-route.js';
import { widgetRouter } from './http/widget-route.js';
import { handoffRouter } from './handoff/handoff-route.js';
import type { HandoffService } from './handoff/handoff-service.js';
import type { Knowledge } from './knowledge/knowledge.js';
import { readyzRouter } from './http/readyz-route.js';
import { inboxHandoffs } from './handoff/inbox-handoffs.js';
import { inboxKnowledgeStatus } from './knowledge/inbox-knowledge-status.js';
import { inboxPageRouter } from './inbox/inbox-page-route.js';
import { inboxApiRouter } from './inbox/inbox-router.js';

export interface AppOptions {
  config: Config;
  store: ConversationStore;
  /** The real `openai` client, already pointed at its base URL (or the offline demo upstream). */
  openai: OpenAI;
  logger: Logger;
  /** True when the offline demo model answers; `/api/config` says so. */
  demo: boolean;
  now?: () => number;
  /** The widget build (its `manifest.json` lists what is served); defaults to `widget/dist` beside this package. */
  widgetDir?: string;
  /** Defaults to `demo/dist` beside this package. */
  demoDir?: string;
  /** The running replies; pass one in to reach them from outside (shutdown). */
  replies?: ReplyRegistry;
  /** Stream slots per client IP; in memory unless given (Redis: `RedisConcurrencyLimiter`). */
  limiter?: ConcurrencyLimiter;
  /** The daily token budget's count; in memory unless given (Redis: `RedisTokenBudget`). */
  budget?: TokenBudget;
  /** The per-IP request counter's store; express-rate-limit's memory store unless given. */
  rateLimitStore?: RateLimitStore;
  /** A fresh registry per app unless given. */
  metrics?: Metrics;
  /** Every reply's events for resuming; in memory unless given (Redis: `RedisStreamBuffer`). */
  streamBuffer?: StreamBuffer;
  /** Stop and reader news across instances; in memory unless given (Redis: `RedisReplyBus`). */
  replyBus?: ReplyBus;
  /**
   * The instance's Redis command connection when `REDIS_URL` is set (not owned): what a feature
   * shares across instances lives there. Unset: one instance, memory and SQLite.
   */
  redis?: Redis;
  /**
   * "Talk to a person" (`createHandoff` in handoff/handoff-service.ts), when a channel is
   * configured; unset: `/api/config` has no `handoff` and `POST /api/handoff` is a 404.
   */
  handoff?: HandoffService;
  /**
   * With `CHATDROP_KNOWLEDGE`: the site's index (started by the caller). Each question is grounded
   * in it, and `/readyz` waits for its first index.
   */
  knowledge?: Knowledge;
  /**
   * Defaults to `server/inbox-ui/dist` (the support inbox's page; served only with
   * `CHATDROP_INBOX_USERS`). With `handoff` the inbox marks hand-offs and shows their deliveries;
   * with `knowledge` it shows the index's status beside the figures.
   */
  inboxUiDir?: string;
}

/**
 * Builds the Express app from its dependencies; reads no environment and listens nowhere
 * (STYLE: only `main.ts` does). Tests call it with a temp SQLite store and the mock upstream.
 */
export function createApp(options: AppOptions): express.Express {
  const { config, store, openai, logger, demo } = options;
  const now = options.now ?? Date.now;
  const replies = options.replies ?? new ReplyRegistry();
  const metrics = options.metrics ?? new Metrics();
  const limiter = options.limiter ?? new MemoryConcurrencyLimiter();
  const budget = options.budget ?? new MemoryTokenBudget({ now });
  const buffer = options.streamBuffer ?? new MemoryStreamBuffer({ runningTtlMs: runningTtlMs(config) });
  const bus = options.replyBus ?? new MemoryReplyBus();
  const app = express();

  app.disable('x-powered-by');
  // Before the first `use`, which creates the app's router with them (STRICT_ROUTING says why).
  app.set('case sensitive routing', STRICT_ROUTING.caseSensitive);
  app.set('strict routing', STRICT_ROUTING.strict);
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);

  app.use(requestId(logger, now));
  // The widget's files carry their own headers, not helmet's page headers (widget-route.ts).
  app.use(widgetRouter({ widgetDir: options.widgetDir ?? fileURLToPath(new URL('../../widget/dist/', import.meta.url)) }));
  app.use(securityHeaders());

  // The support inbox, before `/api` and its CORS: no other origin may use it. Without
  // CHATDROP_INBOX_USERS none of it exists, and `/inbox` and `/api/inbox` are 404s.
  if (config.inboxUsers !== undefined) {
    app.use(
      '/api/inbox',
      inboxApiRouter({
        config,
        users: config.inboxUsers,
        store,
        budget,
        replies,
        bus,
        now,
        ...(options.redis === undefined ? {} : { redis: options.redis }),
        // Hand-off marks, delivery states and the filter from the outbox; the index's status.
        ...(options.handoff === undefined ? {} : { handoffs: inboxHandoffs(options.handoff.outbox) }),
        ...(options.knowledge === undefined ? {} : { knowledgeStatus: inboxKnowledgeStatus(options.knowledge) }),
      }),
    );
    app.use('/inbox', inboxPageRouter({ dir: options.inboxUiDir ?? fileURLToPath(new URL('../inbox-ui/dist/', import.meta.url)) }));
  }

  const api = strictRouter();
  api.use(cors({ allowedOrigins: config.allowedOrigins, publicOrigin: config.publicOrigin }));
  const knowledge = options.knowledge;
  // When nothing the site has covers a question, the model offers the hand-off where there is
  // one, else the support link.
  const chatKnowledge = knowledge && {
    retrieve: knowledge.retrieve.bind(knowledge),
    offer: { handoff: options.handoff !== undefined, supportUrl: config.supportUrl },
  };
  // Per-visitor limits of the conversation routes that start no reply (in Redis with REDIS_URL).
  const conversationLimits = conversationRateLimits({ readsPerMinute: config.readRateLimitPerMinute, redis: options.redis, logger });
  api.use('/chat', chatRouter({ config, store, openai, replies, now, limiter, budget, metrics, rateLimitStore: options.rateLimitStore, logger, buffer, bus, knowledge: chatKnowledge, stopLimit: conversationLimits.action }));
  api.use('/conversations', conversationsRouter({ store, replies, bus, limits: conversationLimits }));
  api.use('/feedback', feedbackRouter({ store, limit: conversationLimits.action }));
  if (options.handoff !== undefined) api.use('/handoff', handoffRouter({ store, handoff: options.handoff, now, logger }));
  api.use(configRouter({ config, demo, handoff: options.handoff !== undefined }));
  api.use(apiNotFound);
  app.use('/api', api);

  app.use(
    metricsRouter({
      metrics,
      token: config.metricsToken,
      // Several instances spend one budget (Redis): each scrape reads the whole site's count.
      // A store that is down leaves the last value rather than failing the scrape.
      refresh:
        config.dailyTokenBudget === undefined
          ? undefined
          : () => budget.used().then((used) => metrics.budgetUsed.set(used), () => undefined),
    }),
  );

  app.use(readyzRouter({ redis: options.redis, knowledgeReady: knowledge && (() => knowledge.ready) }));

  // After the API, so no file in the demo folder can shadow an API path.
  app.use(demoRouter({ demoDir: options.demoDir ?? fileURLToPath(new URL('../../demo/dist/', import.meta.url)) }));

  app.use(apiErrorHandler);
  return app;
}
