import type { Server } from 'node:http';
import OpenAI from 'openai';
import { pino } from 'pino';
import { createApp } from './app.js';
import { ConfigError, parseConfig } from './config.js';
import { startDemoUpstream, type DemoUpstream } from './demo-upstream.js';
import { ReplyRegistry } from './reply-registry.js';
import { SqliteStore } from './store/sqlite-store.js';

/** How often expired conversations are swept (issue 3: retention on a timer). */
const RETENTION_SWEEP_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The only file that reads the environment and listens (STYLE). Everything else gets its
 * dependencies from here through `createApp`.
 */
async function main(): Promise<void> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'chatdrop' } });

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

  let demoUpstream: DemoUpstream | undefined;
  if (config.openaiApiKey === undefined) {
    demoUpstream = await startDemoUpstream();
    logger.warn(
      'OPENAI_API_KEY is not set: the OFFLINE DEMO model answers with a canned reply. ' +
        'Set OPENAI_API_KEY (and optionally OPENAI_BASE_URL) for real answers.',
    );
  }
  const openai = new OpenAI({
    // The demo upstream ignores the key; the SDK insists on one.
    apiKey: config.openaiApiKey ?? 'offline-demo',
    baseURL: demoUpstream?.baseUrl ?? config.openaiBaseUrl ?? null,
    maxRetries: config.upstreamRetries,
  });

  const store = new SqliteStore({ path: config.dbPath });
  const replies = new ReplyRegistry();
  const app = createApp({ config, store, openai, logger, demo: demoUpstream !== undefined, replies });

  const sweep = (): void => {
    store
      .deleteIdleSince(Date.now() - config.retentionDays * DAY_MS)
      .then((deleted) => deleted > 0 && logger.info({ deleted }, 'expired conversations deleted'))
      .catch((error: unknown) => logger.error({ err: error }, 'retention sweep failed'));
  };
  sweep();
  const sweepTimer = setInterval(sweep, RETENTION_SWEEP_MS);
  sweepTimer.unref();

  const server: Server = await new Promise((resolve, reject) => {
    const s = config.host === undefined ? app.listen(config.port) : app.listen(config.port, config.host);
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  logger.info(
    { port, host: config.host ?? 'all interfaces', db: config.dbPath, demo: demoUpstream !== undefined, models: config.models.map((m) => m.alias) },
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
    await replies.drain(config.shutdownGraceMs);
    server.closeAllConnections();
    await closed;
    await demoUpstream?.close();
    await store.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('Chatdrop failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
