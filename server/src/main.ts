import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { createApp, type AppOptions } from './app.js';
import { ConfigError, parseConfig } from './config.js';
import { startDemoUpstream, type DemoUpstream } from './upstream/demo-upstream.js';
import { createRateLimitStore } from './limits/rate-limit-store.js';
import { RedisConcurrencyLimiter } from './limits/redis-concurrency-limiter.js';
import { RedisTokenBudget } from './limits/redis-token-budget.js';
import { createLogger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { SecretRedactor } from './observability/secret-redactor.js';
import { RedisReplyBus } from './replies/reply-bus/redis-reply-bus.js';
import { ReplyRegistry } from './chat/reply-registry.js';
import type { ConversationStore } from './store/conversation-store.js';
import { RedisStore } from './store/redis-store.js';
import { SqliteStore } from './store/sqlite-store.js';
import { RedisStreamBuffer } from './replies/stream-buffer/redis-stream-buffer.js';
import { runningTtlMs } from './replies/stream-buffer/stream-buffer.js';
import { createUpstreamClient } from './upstream/upstream-client.js';
import { createHandoff } from './handoff/handoff-service.js';
import { startKnowledge } from './knowledge/start-knowledge.js';

/** How often expired conversations are swept (issue 3: retention on a timer). */
const RETENTION_SWEEP_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Every line this process writes about itself goes through it (the logger's, and a failed start's). */
const redactor = new SecretRedactor();

/**
 * The only file that reads the environment and listens (STYLE). Everything else gets its
 * dependencies from here through `createApp`.
 */
async function main(): Promise<void> {
  // The key is redacted from every log line from the first one on (the environment's value now,
  // the configuration's once it is read: a CHATDROP_CONFIG file may hold it instead).
  redactor.add(process.env.OPENAI_API_KEY?.trim());
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'chatdrop' }, redactor });

  let config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal(`invalid configuration: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  redactor.add(config.openaiApiKey);

  let demoUpstream: DemoUpstream | undefined;
  if (config.openaiApiKey === undefined) {
    demoUpstream = await startDemoUpstream();
    logger.warn(
      'OPENAI_API_KEY is not set: the OFFLINE DEMO model answers with a canned reply. ' +
        'Set OPENAI_API_KEY (and optionally OPENAI_BASE_URL) for real answers.',
    );
  }
  const openai = createUpstreamClient(config, demoUpstream?.baseUrl);

  // One Redis (REDIS_URL) holds what several instances share: conversations, the per-IP request
  // and stream counts, the daily budget. Unreachable at start: refuse to start, clearly.
  let store: ConversationStore;
  let shared: Pick<AppOptions, 'limiter' | 'budget' | 'rateLimitStore' | 'streamBuffer' | 'replyBus' | 'redis'> = {};
  let redis: Redis | undefined;
  if (config.redisUrl !== undefined) {
    const onError = (error: Error): void => logger.warn({ err: error.message }, 'redis connection error');
    try {
      store = await RedisStore.open({ url: config.redisUrl, retentionMs: config.retentionDays * DAY_MS, onError });
    } catch (error) {
      logger.fatal(`cannot reach REDIS_URL: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
    // Commands fail at once while Redis is away (no queue growing behind a visitor's request);
    // so connect before the rate limiter loads its script, and reconnect by itself afterwards.
    redis = new Redis(config.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (n) => Math.min(n * 100, 2_000),
    });
    redis.on('error', onError);
    await redis.connect();
    shared = {
      redis,
      limiter: new RedisConcurrencyLimiter({ redis }),
      budget: new RedisTokenBudget({ redis }),
      rateLimitStore: createRateLimitStore(redis),
      // Stream events and stop/reader messages, so a resume or a Stop may land on any instance.
      streamBuffer: new RedisStreamBuffer({ redis, runningTtlMs: runningTtlMs(config) }),
      replyBus: await RedisReplyBus.open({ redis, onError: (error) => logger.error({ err: error }, 'reply message handler failed') }),
    };
  } else {
    store = new SqliteStore({ path: config.dbPath });
  }
  if (config.inboxUsers !== undefined && config.publicOrigin.startsWith('http:') && !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|$)/.test(config.publicOrigin)) {
    logger.warn(
      `CHATDROP_PUBLIC_URL is ${config.publicOrigin}: the support inbox's passwords and session cookie travel unencrypted. ` +
        'Serve it over https (CHATDROP_PUBLIC_URL=https://...) behind a TLS proxy.',
    );
  }
  const replies = new ReplyRegistry();
  const metrics = new Metrics({ processMetrics: true });
  // "Talk to a person": its outbox beside the conversations (Redis, or the same SQLite file).
  const handoff = createHandoff({ config, logger, redis });
  // CHATDROP_KNOWLEDGE, or in the offline demo the demo help centre's own pages.
  const knowledge = startKnowledge({ config, openai, logger, redis, demo: demoUpstream !== undefined });
  const app = createApp({ config, store, openai, logger, demo: demoUpstream !== undefined, replies, metrics, ...shared, handoff, knowledge: knowledge?.knowledge });

  const sweep = (): void => {
    store
      .deleteIdleSince(Date.now() - config.retentionDays * DAY_MS)
      .then((deleted) => deleted > 0 && logger.info({ deleted }, 'expired conversations deleted'))
      .catch((error: unknown) => logger.error({ err: error }, 'retention sweep failed'));
    handoff?.outbox
      .deleteCreatedBefore(Date.now() - config.retentionDays * DAY_MS)
      .then((deleted) => deleted > 0 && logger.info({ deleted }, 'expired hand-offs deleted'))
      .catch((error: unknown) => logger.error({ err: error }, 'hand-off retention sweep failed'));
  };
  sweep();
  const sweepTimer = setInterval(sweep, RETENTION_SWEEP_MS);
  sweepTimer.unref();

  const server: Server = await new Promise((resolve, reject) => {
    const s = config.host === undefined ? app.listen(config.port) : app.listen(config.port, config.host);
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  // Deliveries left over from before a restart are due at once.
  handoff?.dispatcher.start();
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  logger.info(
    { port, host: config.host ?? 'all interfaces', db: config.redisUrl === undefined ? config.dbPath : 'redis', demo: demoUpstream !== undefined, models: config.models.map((m) => m.alias), inbox: config.inboxUsers === undefined ? undefined : `${config.publicOrigin}/inbox` },
    `Chatdrop listening on http://localhost:${port}/${demoUpstream ? ' (offline demo model)' : ''}`,
  );

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, running: replies.size }, 'shutting down');
    clearInterval(sweepTimer);
    // Stop accepting; let running replies finish up to the deadline, then abort the rest
    // (each ends with `message-end` `aborted` and its partial text stored).
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Hand-off deliveries under way get the same grace; one cut short is retried from the outbox.
    await Promise.all([replies.drain(config.shutdownGraceMs), handoff?.dispatcher.stop(config.shutdownGraceMs)]);
    server.closeAllConnections();
    await closed;
    await knowledge?.close();
    await demoUpstream?.close();
    await shared.limiter?.close();
    await shared.replyBus?.close();
    await shared.streamBuffer?.close();
    await store.close();
    await handoff?.outbox.close();
    redis?.disconnect();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(redactor.redact(`Chatdrop failed to start: ${error instanceof Error ? error.message : String(error)}`));
  process.exit(1);
});
