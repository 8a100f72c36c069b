import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp, type AppOptions } from '../app.js';
import { parseConfig, type Config, type Env } from '../config.js';
import { ReplyRegistry } from '../chat/reply-registry.js';
import { createUpstreamClient } from '../upstream/upstream-client.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { MockUpstream } from './mock-upstream.js';

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
  /** A real bundle to serve (browser tests); a one-line stand-in in a temp folder otherwise. */
  widgetFile?: string;
  /** Another store (Redis); closed with the server. A fresh SQLite file otherwise. */
  store?: ConversationStore;
  /** Shared parts, e.g. one `TokenBudget` or `ConcurrencyLimiter` for two servers (several instances). */
  shared?: Pick<AppOptions, 'limiter' | 'budget' | 'rateLimitStore' | 'streamBuffer' | 'replyBus'>;
  /** The support inbox's optional inputs and the instance's Redis connection, when a test needs them. */
  inbox?: Pick<AppOptions, 'redis' | 'inboxHandoffs' | 'inboxKnowledgeStatus'>;
  /** Listen on this port (a restart on the same origin); one the OS hands out otherwise. */
  port?: number;
}

export interface TestServer {
  url: string;
  config: Config;
  store: ConversationStore;
  replies: ReplyRegistry;
  dbPath: string;
  /** Every log line, raw JSON. */
  logs: string[];
  widgetFile: string;
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
  const widgetFile = options.widgetFile ?? join(dir, 'widget.js');
  if (options.widgetFile === undefined) writeFileSync(widgetFile, 'console.log("chatdrop widget");\n');
  const config = parseConfig({
    OPENAI_API_KEY: CANARY_KEY,
    OPENAI_BASE_URL: options.upstream.baseUrl,
    CHATDROP_DB: dbPath,
    CHATDROP_SYSTEM_PROMPT: 'You are the test help desk.',
    // The SDK's retries come from the config as in main.ts; none unless a test asks.
    CHATDROP_UPSTREAM_RETRIES: String(options.maxRetries ?? 0),
    ...options.env,
  });
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const store = options.store ?? new SqliteStore({ path: dbPath });
  const replies = new ReplyRegistry();
  const openai = createUpstreamClient(config);
  const app = createApp({
    config,
    store,
    openai,
    logger,
    demo: options.demo ?? false,
    replies,
    widgetFile,
    demoDir: join(dir, 'demo'),
    ...options.shared,
    ...options.inbox,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(options.port ?? 0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    store,
    replies,
    dbPath,
    logs,
    widgetFile,
    dropConnections() {
      server.closeAllConnections();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await replies.drain(0);
      await store.close();
      if (options.dbPath === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
