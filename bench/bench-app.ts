import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startChildServer, type ChildServer } from './child-server.js';
import { repoRoot } from './repo-root.js';
import type { StreamFormat } from './stream-client.js';
import { workspaceImport } from './workspace-import.js';

/** Why the real app cannot be benchmarked yet, or undefined when it can. */
export function appUnavailable(): string | undefined {
  if (!existsSync(join(repoRoot, 'server', 'src', 'app.ts'))) return 'server/src/app.ts (createApp) does not exist yet';
  if (!existsSync(join(repoRoot, 'widget', 'dist', 'widget.js'))) return 'widget/dist/widget.js is missing';
  return undefined;
}

/**
 * The real proxy as production runs it, in this process: `parseConfig` over an environment,
 * `createApp` with a real SqliteStore in `dataDir`, the real `openai` client (`createUpstreamClient`, as main.ts builds it) pointed at the mock
 * upstream, and pino logging at `info` into /dev/null (so its cost counts, its output does not).
 * The per-IP rate and stream limits are raised: the benchmark is one client IP opening thousands
 * of streams, which in production would be thousands of visitors.
 * Called inside `server-child.ts`.
 */
export async function createBenchApp(upstreamUrl: string, dataDir: string, demoDir?: string): Promise<{ server: Server; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  // BENCH_KNOWLEDGE=<folder>: every question is grounded in that folder's pages (a local source,
  // indexed into the same SQLite file before the child reports its port).
  const knowledgeDir = process.env.BENCH_KNOWLEDGE;
  const { parseConfig } = await serverModule<typeof import('../server/src/config.js')>('config');
  const { createApp } = await serverModule<typeof import('../server/src/app.js')>('app');
  const { SqliteStore } = await serverModule<typeof import('../server/src/store/sqlite-store.js')>('store/sqlite-store');
  const { createUpstreamClient } = await serverModule<typeof import('../server/src/upstream/upstream-client.js')>('upstream/upstream-client');
  const { pino } = await workspaceImport<typeof import('pino')>('server', 'pino');
  const config = parseConfig({
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: `${upstreamUrl}/v1`,
    CHATDROP_DB: join(dataDir, 'chatdrop.db'),
    CHATDROP_RATE_LIMIT: '1000000',
    CHATDROP_MAX_STREAMS_PER_IP: '100000',
    CHATDROP_MODELS: 'fast=bench-model',
    ...(knowledgeDir === undefined ? {} : { CHATDROP_KNOWLEDGE: `${knowledgeDir}=https://help.example.com/` }),
  });
  const store = new SqliteStore({ path: config.dbPath });
  // The client main.ts builds (its fetch and agents are part of what is measured).
  const openai = createUpstreamClient(config);
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  let knowledge: { knowledge: import('../server/src/knowledge/knowledge.js').Knowledge; close(): Promise<void> } | undefined;
  if (knowledgeDir !== undefined) {
    const { startKnowledge } = await serverModule<typeof import('../server/src/knowledge/start-knowledge.js')>('knowledge/start-knowledge');
    knowledge = startKnowledge({ config, openai, logger, redis: undefined, demo: false });
    const deadline = Date.now() + 60_000;
    while (knowledge?.knowledge.ready !== true) {
      if (Date.now() > deadline) throw new Error('the knowledge index was not ready within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const app = createApp({ config, store, openai, logger, demo: false, ...(demoDir ? { demoDir } : {}), ...(knowledge ? { knowledge: knowledge.knowledge } : {}) });
  const server = createServer(app);
  server.keepAliveTimeout = 60_000;
  return {
    server,
    close: async () => {
      await knowledge?.close();
      await store.close();
    },
  };
}

/**
 * The built server (`server/dist`, what `pnpm start` runs; `pnpm bench` builds first) when it is
 * there, else its source through tsx.
 */
export async function serverModule<T>(name: string): Promise<T> {
  const built = join(repoRoot, 'server', 'dist', `${name}.js`);
  const url = existsSync(built) ? pathToFileURL(built).href : pathToFileURL(join(repoRoot, 'server', 'src', `${name}.ts`)).href;
  return (await import(url)) as T;
}

/**
 * Starts the real app in a child process (its own loop and RSS) with a fresh database; `demoDir`
 * replaces the built demo page it serves at `/`.
 */
export async function startAppChild(upstreamUrl: string, demoDir?: string, options: { knowledgeDir?: string } = {}): Promise<ChildServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'chatdrop-bench-app-'));
  const env = options.knowledgeDir === undefined ? {} : { BENCH_KNOWLEDGE: options.knowledgeDir };
  const child = await startChildServer(['app', upstreamUrl, dataDir, ...(demoDir ? [demoDir] : [])], env).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    ...child,
    async stop() {
      await child.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The three servers the proxy benchmarks compare, each in its own process. */
export interface ProxyTrio {
  /** The mock upstream: the baseline, and what the other two forward to. */
  mock: ChildServer;
  /** A raw `http` + `pipe()` proxy: the physical floor. */
  pipe: ChildServer;
  /** The real proxy. */
  app: ChildServer;
  stop(): Promise<void>;
}

/** Starts the mock upstream, the `pipe()` floor and the real app in front of it; `stop` ends all three. */
export async function startProxyTrio(): Promise<ProxyTrio> {
  const children: ChildServer[] = [];
  const stop = async () => void (await Promise.all(children.splice(0).map((c) => c.stop())));
  try {
    const mock = await startChildServer(['mock']);
    children.push(mock);
    const pipe = await startChildServer(['pipe', mock.url]);
    children.push(pipe);
    const app = await startAppChild(mock.url);
    children.push(app);
    return { mock, pipe, app, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface StreamRequest {
  path: string;
  format: StreamFormat;
  body: (i: number) => string;
}

/** A chat turn as the widget sends it: a new conversation each time. */
export function appRequest(prompt: string): StreamRequest {
  return { path: '/api/chat', format: 'chatdrop', body: () => JSON.stringify({ message: prompt }) };
}

/** The same turn as the proxy sends it upstream (system prompt, the message, usage on). */
export function openaiRequest(prompt: string): StreamRequest {
  return {
    path: '/v1/chat/completions',
    format: 'openai',
    body: () =>
      JSON.stringify({
        model: 'bench-model',
        stream: true,
        stream_options: { include_usage: true },
        messages: [
          { role: 'system', content: 'You are a friendly, concise help assistant on this website.' },
          { role: 'user', content: prompt },
        ],
      }),
  };
}
