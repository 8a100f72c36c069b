import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@chatdrop/shared';
import { MemoryTokenBudget } from '../limits/memory-token-budget.js';
import { RedisTokenBudget } from '../limits/redis-token-budget.js';
import type { TokenBudget } from '../limits/token-budget.js';
import { startMockUpstream, type MockScript, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf } from '../test/read-sse.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { startTestServer, type TestServer } from '../test/test-server.js';

/**
 * A model that fails before its first token, after the upstream took the request, may have been
 * billed for it; when a fallback model then answers, the daily budget counts both. The real app
 * and the real `openai` SDK against the mock upstream over HTTP, with the budget in memory and in
 * a real redis-server.
 */
requireRedisServer();

const LIMIT = 1_000_000;
const CAP = 200;
const env = {
  CHATDROP_FALLBACKS: 'fast=gpt-backup',
  CHATDROP_MODELS: 'fast=gpt-primary',
  CHATDROP_DAILY_TOKEN_BUDGET: String(LIMIT),
  CHATDROP_MAX_OUTPUT_TOKENS: String(CAP),
  CHATDROP_RATE_LIMIT: '1000',
};
const QUESTION = 'What are your opening hours on public holidays?';
const BACKUP: MockScript = { kind: 'deltas', deltas: ['From ', 'the backup.'], usage: { prompt: 30, completion: 20 } };

let upstream: MockUpstream;
let redisServer: ChildProcess;
let redis: Redis;

beforeAll(async () => {
  upstream = await startMockUpstream();
  const port = await freePort();
  redisServer = await startRedis(port);
  redis = await connectTestClient(`redis://127.0.0.1:${port}`);
}, 30_000);
afterAll(async () => {
  redis?.disconnect();
  if (redisServer !== undefined) await stopRedis(redisServer);
  await upstream?.close();
});

const backends: [string, () => TokenBudget][] = [
  ['in memory', () => new MemoryTokenBudget()],
  ['in Redis', () => new RedisTokenBudget({ redis, keyPrefix: `fallback-budget:${randomUUID()}:` })],
];

describe.each(backends)('the daily budget %s, when a fallback model answers', (_name, makeBudget) => {
  let budget: TokenBudget;
  let server: TestServer;
  /** Our count of the question's input (system prompt and question), as the reply held it. */
  let counted: number;

  beforeAll(async () => {
    budget = makeBudget();
    server = await startTestServer({ upstream, env, shared: { budget } });
    // A reply without a usage chunk is counted by our own tokenizer: that is the input count a
    // failed attempt of the same question is charged.
    upstream.script({ kind: 'deltas', deltas: ['ok'], usage: null });
    const end = await ask();
    counted = end.usage.inputTokens;
    expect(counted).toBeGreaterThan(10);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function ask(): Promise<Extract<StreamEvent, { type: 'message-end' }>> {
    const { events } = await readEvents(await postChat(server.url, { message: QUESTION }));
    const end = events.at(-1)!.event;
    if (end.type !== 'message-end') throw new Error('no message-end');
    return end;
  }

  /** Tokens the budget counted for one question whose primary answers as `primary` and backup as BACKUP. */
  async function spentWhenPrimary(primary: MockScript): Promise<number> {
    const before = await budget.used();
    const requests = upstream.requests.length;
    upstream.script(primary, BACKUP);
    const { events } = await readEvents(await postChat(server.url, { message: QUESTION }));
    expect(textOf(events)).toBe('From the backup.');
    // The visitor's usage is the answer's: the backup's reported usage.
    expect(events.at(-1)!.event).toEqual({ type: 'message-end', finishReason: 'stop', usage: { inputTokens: 30, outputTokens: 20 } });
    expect(upstream.requests.slice(requests).map((r) => r.body.model)).toEqual(['gpt-primary', 'gpt-backup']);
    return (await budget.used()) - before;
  }

  it('counts the input of a primary whose stream broke before its first token, besides the fallback\'s usage', async () => {
    // 200 and the role chunk, then the connection is cut: the model had started.
    expect(await spentWhenPrimary({ kind: 'deltas', deltas: ['never sent'], dropAfter: 0 })).toBe(counted + 50);
  });

  it('counts the input of a primary that answered a 5xx, or an error inside its stream', async () => {
    expect(await spentWhenPrimary({ kind: 'error', status: 500, message: 'The server had an error while processing your request.', type: 'server_error' })).toBe(counted + 50);
    expect(await spentWhenPrimary({ kind: 'error', status: 502, message: 'Bad gateway' })).toBe(counted + 50);
    expect(await spentWhenPrimary({ kind: 'deltas', deltas: ['never sent'], errorAfter: 0 })).toBe(counted + 50);
  });

  it('counts nothing for a primary the upstream refused outright (a 404 for an unknown model)', async () => {
    expect(await spentWhenPrimary({ kind: 'error', status: 404, message: 'The model `gpt-primary` does not exist', code: 'model_not_found' })).toBe(50);
  });

  it('grows the reply\'s hold by the failed attempt while the fallback runs, so other requests see it at once', async () => {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    upstream.script({ kind: 'deltas', deltas: ['never sent'], dropAfter: 0 }, { ...BACKUP, holdBefore: { delta: 1, until } } as MockScript);
    const spentBefore = await budget.used();
    const response = await postChat(server.url, { message: QUESTION });
    try {
      // Read until the backup's first words: the primary has failed and the fallback is running.
      await readEvents(response, (event) => (event.type === 'text-delta' ? 'stop' : undefined));
      // Held now: the reply's input and cap, plus the failed attempt's input.
      const room = LIMIT - spentBefore - (counted + CAP) - counted;
      const tooMuch = await budget.reserve({ inputTokens: room + 1, outputTokens: 0 }, LIMIT);
      expect(tooMuch).toBeUndefined();
      const fits = await budget.reserve({ inputTokens: room, outputTokens: 0 }, LIMIT);
      expect(fits).toBeDefined();
      await budget.settle(fits!, 0);
    } finally {
      release();
    }
    await expect.poll(() => budget.used(), { timeout: 10_000 }).toBe(spentBefore + counted + 50);
    // Nothing is left held: the whole rest of the budget is free again.
    const rest = await budget.reserve({ inputTokens: LIMIT - (await budget.used()), outputTokens: 0 }, LIMIT);
    expect(rest).toBeDefined();
    await budget.settle(rest!, 0);
  });
});

describe('the daily budget, when the SDK retried a request before the answer', () => {
  let budget: MemoryTokenBudget;
  let server: TestServer;
  let counted: number;
  const soon = { 'retry-after-ms': '10' };

  beforeAll(async () => {
    budget = new MemoryTokenBudget();
    server = await startTestServer({ upstream, env: { ...env, CHATDROP_UPSTREAM_RETRIES: '1' }, shared: { budget } });
    upstream.script({ kind: 'deltas', deltas: ['ok'], usage: null });
    const { events } = await readEvents(await postChat(server.url, { message: QUESTION }));
    const end = events.at(-1)!.event;
    if (end.type !== 'message-end') throw new Error('no message-end');
    counted = end.usage.inputTokens;
  });
  afterAll(async () => {
    await server?.close();
  });

  async function spentFor(...scripts: MockScript[]): Promise<number> {
    const before = await budget.used();
    const requests = upstream.requests.length;
    upstream.script(...scripts);
    const { events } = await readEvents(await postChat(server.url, { message: QUESTION }));
    expect(textOf(events)).toBe('From the backup.');
    expect(upstream.requests.length - requests).toBe(scripts.length);
    return (await budget.used()) - before;
  }

  it('counts the input of a retried 5xx, and nothing for a retried 429', async () => {
    const answer: MockScript = { ...BACKUP } as MockScript;
    expect(await spentFor({ kind: 'error', status: 500, message: 'Server error', type: 'server_error', headers: soon }, answer)).toBe(counted + 50);
    expect(await spentFor({ kind: 'error', status: 429, message: 'Rate limit reached', type: 'requests', headers: soon }, answer)).toBe(50);
  });

  it('counts a retried 5xx when the retry after it is given up on before its headers came (the first-token timeout)', async () => {
    const limited = await startTestServer({ upstream, env: { ...env, CHATDROP_UPSTREAM_RETRIES: '1', CHATDROP_FIRST_TOKEN_TIMEOUT_MS: '1000' }, shared: { budget } });
    try {
      const before = await budget.used();
      upstream.script({ kind: 'error', status: 500, message: 'Server error', type: 'server_error', headers: soon }, { kind: 'silent' }, BACKUP);
      const { events } = await readEvents(await postChat(limited.url, { message: QUESTION }));
      expect(textOf(events)).toBe('From the backup.');
      // The 500, the request the timeout gave up on, and the fallback's own 50.
      expect((await budget.used()) - before).toBe(2 * counted + 50);
    } finally {
      await limited.close();
    }
  });

  it('counts every request of a primary that failed twice with a 5xx before the fallback answered', async () => {
    const failed: MockScript = { kind: 'error', status: 503, message: 'Overloaded', type: 'server_error', headers: soon };
    expect(await spentFor(failed, failed, BACKUP)).toBe(2 * counted + 50);
    expect(upstream.requests.slice(-3).map((r) => r.body.model)).toEqual(['gpt-primary', 'gpt-primary', 'gpt-backup']);
  });
});
