import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createApp, type AppOptions } from '../app.js';
import { createLogger } from '../observability/logger.js';
import { SecretRedactor } from '../observability/secret-redactor.js';
import { parseConfig, type Config, type Env } from '../config.js';
import { ReplyRegistry } from '../chat/reply-registry.js';
import { createUpstreamClient } from '../upstream/upstream-client.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { MockUpstream } from './mock-upstream.js';
import { createHandoff, type CreateHandoffOptions, type HandoffService } from '../handoff/handoff-service.js';
import type { CrawlLimits } from '../knowledge/crawl.js';
import { Knowledge } from '../knowledge/knowledge.js';
import { RedisKnowledgeStore } from '../knowledge/redis-knowledge-store.js';
import { SqliteKnowledgeStore } from '../knowledge/sqlite-knowledge-store.js';
import { writeWidgetBuild } from './widget-build.js';

/** A key no response, header or log line may ever contain. */
export const CANARY_KEY = 'sk-canary-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e';

export interface TestServerOptions {
  upstream: MockUpstream;
  /** Extra environment, parsed by the real `parseConfig` (it wins over `maxRetries`). */
  env?: Env;
  /** Reuse a database file (restart tests); a fresh temp file otherwise. */
  dbPath?: string;
  maxRetries?: number;
  demo?: boolean;
  /** A real widget build to serve (browser tests: `widget/dist`); a one-file stand-in in a temp folder otherwise. */
  widgetDir?: string;
  /** The same as `widgetDir` for the folder holding this `widget.js`. */
  widgetFile?: string;
  /** Another store (Redis); closed with the server. A fresh SQLite file otherwise. */
  store?: ConversationStore;
  /** Shared parts, e.g. one `TokenBudget` or `ConcurrencyLimiter` for two servers (several instances). */
  shared?: Pick<AppOptions, 'limiter' | 'budget' | 'rateLimitStore' | 'streamBuffer' | 'replyBus' | 'handoff'>;
  /**
   * With `CHATDROP_KNOWLEDGE` in `env`: the crawler's limits (no delay between requests unless
   * given). The index lives in the test's SQLite file (in Redis with `inbox.redis`) and its first
   * crawl starts at once.
   */
  knowledgeLimits?: Partial<CrawlLimits>;
  /**
   * The instance's Redis connection (`REDIS_URL` in main.ts): what a feature shares across
   * instances lives there, the hand-off outbox and the knowledge index included, as in main.ts.
   */
  inbox?: Pick<AppOptions, 'redis'>;
  /** The hand-off dispatcher's clock and retry steps, so a test decides when a retry comes (or gives up). */
  handoffDispatcher?: CreateHandoffOptions['dispatcher'];
  /** Listen on this port (a restart on the same origin); one the OS hands out otherwise. */
  port?: number;
}

export interface TestServer {
  url: string;
  /** The Express app itself, for tests that look at its wiring. */
  app: ReturnType<typeof createApp>;
  config: Config;
  store: ConversationStore;
  replies: ReplyRegistry;
  dbPath: string;
  /** Every log line, raw JSON. */
  logs: string[];
  /** The widget build served; the stand-in's can be rewritten with `writeWidgetBuild`. */
  widgetDir: string;
  /** "Talk to a person", when the environment configures a channel (or the test passed one). */
  handoff: HandoffService | undefined;
  /** Set when `env` has `CHATDROP_KNOWLEDGE`. */
  knowledge: Knowledge | undefined;
  /** Cuts every open connection, as a network change would, and keeps listening. */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * The real app on 127.0.0.1:0: a SQLite file in a temp folder, the real `openai` client at the
 * mock upstream (no retries unless asked), a capturing pino logger.
 */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'chatdrop-test-'));
  const dbPath = options.dbPath ?? join(dir, 'chatdrop.db');
  const given = options.widgetDir ?? (options.widgetFile === undefined ? undefined : dirname(options.widgetFile));
  const widgetDir = given ?? join(dir, 'widget');
  if (given === undefined) writeWidgetBuild(widgetDir, { 'widget.js': 'console.log("chatdrop widget");\n' });
  // Listening first, so the server's public origin (its own, for CORS) is the address it really has.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const config = parseConfig({
    CHATDROP_PUBLIC_URL: url,
    OPENAI_API_KEY: CANARY_KEY,
    OPENAI_BASE_URL: options.upstream.baseUrl,
    CHATDROP_DB: dbPath,
    CHATDROP_SYSTEM_PROMPT: 'You are the test help desk.',
    // The SDK's retries come from the config as in main.ts; none unless a test asks.
    CHATDROP_UPSTREAM_RETRIES: String(options.maxRetries ?? 0),
    ...options.env,
  });
  const logs: string[] = [];
  // Built as main.ts builds it: the configured key is redacted from every line.
  const redactor = new SecretRedactor();
  redactor.add(config.openaiApiKey);
  const logger = createLogger({ level: 'debug', redactor, destination: { write: (line: string) => void logs.push(line) } });
  const store = options.store ?? new SqliteStore({ path: dbPath });
  const replies = new ReplyRegistry();
  const openai = createUpstreamClient(config);
  // Built as main.ts builds it (the outbox in Redis with `inbox.redis`, else in the same SQLite
  // file) unless the test brings its own.
  const redis = options.inbox?.redis;
  const ownHandoff = options.shared?.handoff === undefined ? createHandoff({ config, logger, redis, dispatcher: options.handoffDispatcher }) : undefined;
  const handoff = options.shared?.handoff ?? ownHandoff;
  const knowledgeStore =
    config.knowledge.length > 0 ? (redis === undefined ? new SqliteKnowledgeStore({ path: dbPath }) : new RedisKnowledgeStore({ redis })) : undefined;
  const knowledge =
    knowledgeStore &&
    new Knowledge({
      sources: config.knowledge,
      store: knowledgeStore,
      log: logger,
      refreshMs: config.knowledgeRefreshHours * 3_600_000,
      limits: { delayMs: 0, maxPages: config.knowledgeMaxPages, ...options.knowledgeLimits },
    });
  knowledge?.start();
  const app = createApp({
    config,
    store,
    openai,
    logger,
    demo: options.demo ?? false,
    replies,
    widgetDir,
    demoDir: join(dir, 'demo'),
    ...options.shared,
    handoff,
    knowledge,
    ...options.inbox,
  });
  ownHandoff?.dispatcher.start();
  server.on('request', app);
  return {
    url,
    app,
    config,
    store,
    replies,
    dbPath,
    logs,
    widgetDir,
    handoff,
    knowledge,
    dropConnections() {
      server.closeAllConnections();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await replies.drain(0);
      await ownHandoff?.dispatcher.stop(0);
      await ownHandoff?.outbox.close();
      await knowledge?.close();
      await knowledgeStore?.close();
      await store.close();
      if (options.dbPath === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
