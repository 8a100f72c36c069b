import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConversationStore, NewMessage } from '../server/src/store/conversation-store.js';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { percentile } from './percentile.js';
import { repoRoot } from './repo-root.js';
import { startRedis } from './redis-server.js';
import { workspaceImport } from './workspace-import.js';

const APPENDS = 3_000;
const CONVERSATION_LENGTH = 50;
const READS = 2_000;

/** A typical chat turn's size: a question or a paragraph of answer. */
const message = (i: number): NewMessage => ({
  role: i % 2 === 0 ? 'user' : 'assistant',
  content: `Message ${i}: `.padEnd(400, 'lorem ipsum dolor sit amet '),
  status: 'complete',
});

interface StoreTimes {
  appendsPerSecond: number;
  readP50Ms: number;
  readP99Ms: number;
}

/**
 * Store (issue 7): appends per second and the read latency of a 50-message conversation, for the
 * real SqliteStore (a file in a temp dir, the store's own pragmas) against raw better-sqlite3
 * inserts and selects of the same row shape in the same run; and RedisStore (on a throwaway
 * redis-server) against raw ioredis RPUSH/LRANGE of the same rows.
 */
export async function storeBench(): Promise<Measured[]> {
  const dir = await mkdtemp(join(tmpdir(), 'chatdrop-bench-store-'));
  try {
    const { SqliteStore } = await import('../server/src/store/sqlite-store.js');
    const store = new SqliteStore({ path: join(dir, 'store.db') });
    const sqlite = await timeStore(store).finally(() => store.close());
    const raw = await timeRawSqlite(join(dir, 'raw.db'));
    const rows = [
      measured({
        figure: 'SQLite store appends',
        unit: '/s',
        value: Math.round(sqlite.appendsPerSecond),
        baseline: 'raw better-sqlite3 insert',
        baselineValue: Math.round(raw.appendsPerSecond),
      }),
      measured({
        figure: 'SQLite store read, 50 messages, p50',
        unit: 'ms',
        value: round(sqlite.readP50Ms, 3),
        baseline: 'raw select',
        baselineValue: round(raw.readP50Ms, 3),
      }),
      measured({
        figure: 'SQLite store read, 50 messages, p99',
        unit: 'ms',
        value: round(sqlite.readP99Ms, 3),
        baseline: 'raw select',
        baselineValue: round(raw.readP99Ms, 3),
      }),
    ];
    return [...rows, ...(await redisRows())];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function redisRows(): Promise<Measured[]> {
  if (!existsSync(join(repoRoot, 'server', 'src', 'store', 'redis-store.ts'))) {
    return [notMeasured('Redis store appends', '/s', 'server/src/store/redis-store.ts does not exist yet')];
  }
  const redis = await startRedis().catch((error: unknown) => error as Error);
  if (redis instanceof Error) return [notMeasured('Redis store appends', '/s', redis.message)];
  try {
    const { RedisStore } = await import('../server/src/store/redis-store.js');
    const store = await RedisStore.open({ url: redis.url });
    const times = await timeStore(store).finally(() => store.close());
    const rawRedis = await timeRawRedis(redis.url);
    return [
      measured({
        figure: 'Redis store appends',
        unit: '/s',
        value: Math.round(times.appendsPerSecond),
        baseline: 'raw ioredis RPUSH',
        baselineValue: Math.round(rawRedis.appendsPerSecond),
      }),
      measured({ figure: 'Redis store read, 50 messages, p50', unit: 'ms', value: round(times.readP50Ms, 3), baseline: 'raw LRANGE', baselineValue: round(rawRedis.readP50Ms, 3) }),
      measured({ figure: 'Redis store read, 50 messages, p99', unit: 'ms', value: round(times.readP99Ms, 3), baseline: 'raw LRANGE', baselineValue: round(rawRedis.readP99Ms, 3) }),
    ];
  } catch (error) {
    return [notMeasured('Redis store appends', '/s', `RedisStore failed: ${(error as Error).message}`)];
  } finally {
    await redis.stop();
  }
}

async function timeStore(store: ConversationStore): Promise<StoreTimes> {
  const ids: string[] = [];
  const started = performance.now();
  for (let i = 0; i < APPENDS; i++) {
    if (i % CONVERSATION_LENGTH === 0) ids.push(await store.createConversation());
    await store.appendMessage(ids[ids.length - 1] ?? '', message(i));
  }
  const appendsPerSecond = APPENDS / ((performance.now() - started) / 1000);
  const reads: number[] = [];
  for (let i = 0; i < READS; i++) {
    const id = ids[i % ids.length] ?? '';
    const t = performance.now();
    const conversation = await store.getConversation(id);
    reads.push(performance.now() - t);
    if (conversation?.messages.length !== CONVERSATION_LENGTH) throw new Error('store lost messages');
  }
  return { appendsPerSecond, readP50Ms: percentile(reads, 50), readP99Ms: percentile(reads, 99) };
}

/** Redis with nothing around it: one RPUSH of the row as JSON per message, one LRANGE per read. */
async function timeRawRedis(url: string): Promise<StoreTimes> {
  const { Redis } = await workspaceImport<typeof import('ioredis')>('server', 'ioredis');
  const redis = new Redis(url);
  try {
    const started = performance.now();
    for (let i = 0; i < APPENDS; i++) {
      const m = message(i);
      await redis.rpush(`raw:c${Math.floor(i / CONVERSATION_LENGTH)}`, JSON.stringify({ id: `m${i}`, ...m, createdAt: Date.now() }));
    }
    const appendsPerSecond = APPENDS / ((performance.now() - started) / 1000);
    const conversations = APPENDS / CONVERSATION_LENGTH;
    const reads: number[] = [];
    for (let i = 0; i < READS; i++) {
      const t = performance.now();
      const rows = (await redis.lrange(`raw:c${i % conversations}`, 0, -1)).map((row) => JSON.parse(row) as unknown);
      reads.push(performance.now() - t);
      if (rows.length !== CONVERSATION_LENGTH) throw new Error('raw LRANGE lost rows');
    }
    return { appendsPerSecond, readP50Ms: percentile(reads, 50), readP99Ms: percentile(reads, 99) };
  } finally {
    redis.disconnect();
  }
}

/** The same rows with nothing around them: one prepared INSERT per message, one SELECT per read. */
async function timeRawSqlite(path: string): Promise<StoreTimes> {
  const { default: Database } = await workspaceImport<{ default: typeof import('better-sqlite3') }>('server', 'better-sqlite3');
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
      conversation_id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, status TEXT NOT NULL,
      created_at INTEGER NOT NULL);
      CREATE INDEX messages_conversation_seq ON messages (conversation_id, seq);`);
    const insert = db.prepare('INSERT INTO messages (id, conversation_id, role, content, status, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    const select = db.prepare('SELECT id, role, content, status, created_at FROM messages WHERE conversation_id = ? ORDER BY seq');
    const started = performance.now();
    for (let i = 0; i < APPENDS; i++) {
      const m = message(i);
      insert.run(`m${i}`, `c${Math.floor(i / CONVERSATION_LENGTH)}`, m.role, m.content, m.status, Date.now());
    }
    const appendsPerSecond = APPENDS / ((performance.now() - started) / 1000);
    const conversations = APPENDS / CONVERSATION_LENGTH;
    const reads: number[] = [];
    for (let i = 0; i < READS; i++) {
      const t = performance.now();
      const rows = select.all(`c${i % conversations}`);
      reads.push(performance.now() - t);
      if (rows.length !== CONVERSATION_LENGTH) throw new Error('raw select lost rows');
    }
    return { appendsPerSecond, readP50Ms: percentile(reads, 50), readP99Ms: percentile(reads, 99) };
  } finally {
    db.close();
  }
}
