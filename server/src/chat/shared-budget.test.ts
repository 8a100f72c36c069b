import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTokenBudget } from '../limits/redis-token-budget.js';
import { buildUpstreamMessages } from './history.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { postChat, readEvents } from '../test/read-sse.js';

/**
 * The daily budget under a crowd: two app instances sharing one real redis-server, fifty visitors
 * asking at the same moment, the real SDK against the mock upstream. Each reply is held against
 * the budget before its upstream call, so together they cannot spend more than the budget plus
 * one reply's output cap.
 */
requireRedisServer();

const SYSTEM_PROMPT = 'You are the test help desk.';
const QUESTION = 'What are your opening hours?';
const OUTPUT_CAP = 20;
const BUDGET = 500;
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
/** Our own count of each request's input, which the mock reports as the prompt's usage. */
const INPUT = (() => {
  const built = buildUpstreamMessages({ systemPrompt: SYSTEM_PROMPT, history: [], message: QUESTION, budgetTokens: 8000 });
  if ('error' in built) throw new Error('the question does not fit');
  return built.inputTokens;
})();

let redisServer: ChildProcess;
const clients: Redis[] = [];
let upstream: MockUpstream;
let a: TestServer;
let b: TestServer;
let budget: RedisTokenBudget;

beforeAll(async () => {
  const port = await freePort();
  redisServer = await startRedis(port);
  const url = `redis://127.0.0.1:${port}`;
  upstream = await startMockUpstream();
  const keyPrefix = `test:${randomUUID()}:`;
  const env = {
    CHATDROP_SYSTEM_PROMPT: SYSTEM_PROMPT,
    CHATDROP_DAILY_TOKEN_BUDGET: String(BUDGET),
    CHATDROP_MAX_OUTPUT_TOKENS: String(OUTPUT_CAP),
    CHATDROP_METRICS_TOKEN: METRICS_TOKEN,
    // One test client stands for fifty visitors: the per-address limits are out of the way.
    CHATDROP_RATE_LIMIT: '1000',
    CHATDROP_MAX_STREAMS_PER_IP: '1000',
  };
  // Each instance has its own connection, as in production; one more reads the count.
  for (let i = 0; i < 3; i++) clients.push(await connectTestClient(url));
  a = await startTestServer({ upstream, env, shared: { budget: new RedisTokenBudget({ redis: clients[0]!, keyPrefix }) } });
  b = await startTestServer({ upstream, env, shared: { budget: new RedisTokenBudget({ redis: clients[1]!, keyPrefix }) } });
  budget = new RedisTokenBudget({ redis: clients[2]!, keyPrefix });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await upstream?.close();
  for (const client of clients) client.disconnect();
  if (redisServer) await stopRedis(redisServer);
});

async function metricsOf(server: TestServer): Promise<string> {
  return (await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
}

describe('the daily token budget, shared by two instances through Redis', () => {
  it('lets 50 simultaneous requests spend no more than the budget plus one output cap; the rest get 503 budget-exceeded', async () => {
    // Every reply runs to its output cap (the mock stops there, as a real upstream does) and
    // reports our own input count: each costs exactly what it held. They stream slowly enough to
    // be running at the same time.
    upstream.script({
      kind: 'deltas',
      deltas: Array.from({ length: OUTPUT_CAP * 2 }, (_, i) => `t${i} `),
      delayMs: 5,
      usage: { prompt: INPUT, completion: OUTPUT_CAP * 2 },
    });
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const response = await postChat((i % 2 === 0 ? a : b).url, { message: QUESTION });
        if (response.status !== 200) return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
        const { events } = await readEvents(response);
        return { status: 200, end: events.at(-1)?.event };
      }),
    );

    const streamed = answers.filter((x) => x.status === 200);
    const refused = answers.filter((x) => x.status !== 200);
    for (const answer of streamed) expect(answer.end).toMatchObject({ type: 'message-end', finishReason: 'length', usage: { inputTokens: INPUT, outputTokens: OUTPUT_CAP } });
    for (const answer of refused) {
      expect(answer).toMatchObject({ status: 503, body: { error: { code: 'budget-exceeded' } } });
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    }

    // What the upstream was asked for and billed, and what the budget counted: the same, within
    // the budget plus one output cap.
    expect(upstream.requests).toHaveLength(streamed.length);
    expect(upstream.requests.every((r) => r.body.max_tokens === OUTPUT_CAP)).toBe(true);
    const billed = streamed.length * (INPUT + OUTPUT_CAP);
    expect(billed).toBeLessThanOrEqual(BUDGET + OUTPUT_CAP);
    expect(await budget.used()).toBe(billed);
    // The budget was used up, not merely refused: no reply more would have fit.
    expect(billed + INPUT).toBeGreaterThan(BUDGET);
    expect(refused.length).toBe(50 - streamed.length);

    // Every instance's /metrics shows the site's total.
    for (const server of [a, b]) expect(await metricsOf(server)).toContain(`chatdrop_budget_used_tokens ${billed}`);
  });
});
