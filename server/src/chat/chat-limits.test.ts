import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiErrorBody } from '@chatdrop/shared';
import { MemoryTokenBudget } from '../limits/memory-token-budget.js';
import { secondsUntilNextUtcDay } from '../limits/utc-day.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockScript, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf } from '../test/read-sse.js';

/** The limits that protect the owner (issue 5), each on a server of its own configuration. */
let upstream: MockUpstream;

beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  await upstream.close();
});

async function withServer(env: Record<string, string>, body: (server: TestServer) => Promise<void>): Promise<void> {
  upstream.requests.length = 0;
  // Grace 0: a reader leaving ends its reply (and frees its slot) at once, which these tests use.
  const server = await startTestServer({ upstream, env: { CHATDROP_RESUME_GRACE_MS: '0', ...env } });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

async function expectError(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  const body: unknown = await response.json();
  expect(isApiErrorBody(body)).toBe(true);
  expect(body).toMatchObject({ error: { code } });
  return body as Record<string, unknown>;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}

/** A stream that stays open (the upstream goes quiet after one delta) until `leave()` is called. */
async function openStream(url: string, headers: Record<string, string> = {}): Promise<{ response: Response; leave: () => void }> {
  const browser = new AbortController();
  const response = await postChat(url, { message: 'Tell me everything' }, { signal: browser.signal, headers: { 'Content-Type': 'application/json', ...headers } });
  return { response, leave: () => browser.abort() };
}

const quietAfterOne: MockScript = { kind: 'deltas', deltas: ['One ', 'two'], hangAfter: 1 };

describe('concurrent streams per client IP', () => {
  it('answers 429 busy with Retry-After past CHATDROP_MAX_STREAMS_PER_IP, and takes new streams once one ends', () =>
    withServer({ CHATDROP_MAX_STREAMS_PER_IP: '2' }, async (s) => {
      upstream.script(quietAfterOne);
      const first = await openStream(s.url);
      const second = await openStream(s.url);
      expect([first.response.status, second.response.status]).toEqual([200, 200]);

      const third = await postChat(s.url, { message: 'And this?' });
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      await expectError(third, 429, 'busy');
      expect(upstream.requests).toHaveLength(2);

      first.leave();
      await until(() => s.replies.size === 1);
      upstream.script({ kind: 'deltas', deltas: ['Now there is room.'] });
      const fourth = await postChat(s.url, { message: 'Now?' });
      expect(fourth.status).toBe(200);
      expect(textOf((await readEvents(fourth)).events)).toBe('Now there is room.');
      second.leave();
    }));

  it('gives the slot back when a request is refused after taking it', () =>
    withServer({ CHATDROP_MAX_STREAMS_PER_IP: '1' }, async (s) => {
      // Refused after the slot was taken: an unknown conversation. Twice, so a leaked slot would show.
      for (let i = 0; i < 2; i++) {
        await expectError(await postChat(s.url, { message: 'Hi', conversationId: 'not-one-of-ours' }), 404, 'not-found');
      }
      upstream.script({ kind: 'deltas', deltas: ['Still room.'] });
      expect(textOf((await readEvents(await postChat(s.url, { message: 'Hi' }))).events)).toBe('Still room.');
    }));
});

describe('TRUST_PROXY', () => {
  const forwardedFrom = (ip: string): Record<string, string> => ({ 'X-Forwarded-For': ip });

  it('counts each client behind the proxy by its X-Forwarded-For address', () =>
    withServer({ CHATDROP_MAX_STREAMS_PER_IP: '1', TRUST_PROXY: 'loopback' }, async (s) => {
      upstream.script(quietAfterOne);
      const alice = await openStream(s.url, forwardedFrom('203.0.113.7'));
      const bob = await openStream(s.url, forwardedFrom('198.51.100.20'));
      expect([alice.response.status, bob.response.status]).toEqual([200, 200]);
      await expectError(await postChat(s.url, { message: 'again' }, { headers: { 'Content-Type': 'application/json', ...forwardedFrom('203.0.113.7') } }), 429, 'busy');
      alice.leave();
      bob.leave();
    }));

  it('ignores X-Forwarded-For without it, so a visitor cannot pose as many clients', () =>
    withServer({ CHATDROP_MAX_STREAMS_PER_IP: '1' }, async (s) => {
      upstream.script(quietAfterOne);
      const alice = await openStream(s.url, forwardedFrom('203.0.113.7'));
      expect(alice.response.status).toBe(200);
      await expectError(await postChat(s.url, { message: 'again' }, { headers: { 'Content-Type': 'application/json', ...forwardedFrom('198.51.100.20') } }), 429, 'busy');
      alice.leave();
    }));
});

describe('per-conversation caps', () => {
  it('refuses a turn past CHATDROP_MAX_TURNS with 413 too-large and leaves the conversation as it was', () =>
    withServer({ CHATDROP_MAX_TURNS: '2' }, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['Sure.'] });
      const first = (await readEvents(await postChat(s.url, { message: 'One' }))).events[0]!.event;
      if (first.type !== 'message-start') throw new Error('no start');
      await readEvents(await postChat(s.url, { message: 'Two', conversationId: first.conversationId }));
      const body = await expectError(await postChat(s.url, { message: 'Three', conversationId: first.conversationId }), 413, 'too-large');
      expect(JSON.stringify(body)).toMatch(/new conversation/i);
      expect((await s.store.getConversation(first.conversationId))?.messages).toHaveLength(4);
      expect(upstream.requests).toHaveLength(2);
      // A new conversation is fine.
      expect((await postChat(s.url, { message: 'Fresh start' })).status).toBe(200);
    }));

  it('refuses a turn that would take the stored size past CHATDROP_MAX_CONVERSATION_CHARS', () =>
    withServer({ CHATDROP_MAX_CONVERSATION_CHARS: '30' }, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['x'.repeat(20)] });
      const first = (await readEvents(await postChat(s.url, { message: 'hello' }))).events[0]!.event;
      if (first.type !== 'message-start') throw new Error('no start');
      // 5 + 20 stored; 5 more fit exactly, 6 do not.
      await expectError(await postChat(s.url, { message: 'abcdef', conversationId: first.conversationId }), 413, 'too-large');
      const fits = await postChat(s.url, { message: 'abcde', conversationId: first.conversationId });
      expect(fits.status).toBe(200);
      await readEvents(fits);
    }));
});

describe('the daily token budget', () => {
  it('refuses with 503 budget-exceeded until the next UTC day once input plus output tokens reach CHATDROP_DAILY_TOKEN_BUDGET', () =>
    withServer({ CHATDROP_DAILY_TOKEN_BUDGET: '100' }, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['a'], usage: { prompt: 30, completion: 20 } });
      await readEvents(await postChat(s.url, { message: 'One' })); // 50 of 100
      await readEvents(await postChat(s.url, { message: 'Two' })); // 100 of 100
      const before = upstream.requests.length;
      const refused = await postChat(s.url, { message: 'Three' });
      const retryAfter = Number(refused.headers.get('retry-after'));
      const body = await expectError(refused, 503, 'budget-exceeded');
      expect(Math.abs(retryAfter - secondsUntilNextUtcDay(Date.now()))).toBeLessThanOrEqual(2);
      // Visitor-safe: nothing about tokens, money or limits' numbers.
      expect((body.error as { message: string }).message).not.toMatch(/token|budget|\$|100/i);
      expect(upstream.requests.length).toBe(before);
    }));

  it('counts our own estimate of input and output when the upstream sends no usage chunk', async () => {
    const budget = new MemoryTokenBudget();
    const server = await startTestServer({ upstream, env: { CHATDROP_DAILY_TOKEN_BUDGET: '100000' }, shared: { budget } });
    try {
      upstream.script({ kind: 'deltas', deltas: ['A fairly ', 'long answer ', 'with words'], usage: null });
      const { events } = await readEvents(await postChat(server.url, { message: 'Please tell me about your opening hours' }));
      const end = events.at(-1)!.event;
      if (end.type !== 'message-end') throw new Error('no message-end');
      expect(end.usage.inputTokens).toBeGreaterThan(10);
      expect(end.usage.outputTokens).toBeGreaterThan(3);
      expect(await budget.used()).toBe(end.usage.inputTokens + end.usage.outputTokens);
    } finally {
      await server.close();
    }
  });

  it('holds each reply\'s input and output cap before the upstream call, so simultaneous requests cannot overshoot', async () => {
    const budget = new MemoryTokenBudget();
    // Each reply holds its input (about 20 tokens) plus the cap of 50; a budget of 200 admits three at once.
    const env = { CHATDROP_DAILY_TOKEN_BUDGET: '200', CHATDROP_MAX_OUTPUT_TOKENS: '50', CHATDROP_MAX_STREAMS_PER_IP: '100', CHATDROP_RESUME_GRACE_MS: '0' };
    const server = await startTestServer({ upstream, env, shared: { budget } });
    upstream.requests.length = 0;
    try {
      upstream.script({ kind: 'deltas', deltas: Array.from({ length: 100 }, () => 'x '), delayMs: 5, usage: { prompt: 10, completion: 100 } });
      const statuses = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const response = await postChat(server.url, { message: 'Tell me everything' });
          if (response.status === 200) await readEvents(response);
          else await expectError(response, 503, 'budget-exceeded');
          return response.status;
        }),
      );
      const streamed = statuses.filter((status) => status === 200).length;
      expect(upstream.requests).toHaveLength(streamed);
      expect(streamed).toBeGreaterThan(0);
      // Each spent 10 + 50: no more than the budget plus one cap.
      expect(await budget.used()).toBe(streamed * 60);
      expect(streamed * 60).toBeLessThanOrEqual(250);
    } finally {
      await server.close();
    }
  });

  it('gives the hold back when the upstream refuses the request, and counts input and partial output of a stopped reply', async () => {
    const budget = new MemoryTokenBudget();
    const server = await startTestServer({ upstream, env: { CHATDROP_DAILY_TOKEN_BUDGET: '100000', CHATDROP_RESUME_GRACE_MS: '0' }, shared: { budget } });
    try {
      upstream.script({ kind: 'error', status: 429, message: 'You exceeded your current quota' });
      const refused = await readEvents(await postChat(server.url, { message: 'Hi' }));
      expect(refused.events.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'error', usage: { inputTokens: 0, outputTokens: 0 } });
      expect(await budget.used()).toBe(0);

      upstream.script({ kind: 'deltas', deltas: ['Some ', 'words ', 'then ', 'silence'], hangAfter: 3, usage: null });
      const browser = new AbortController();
      const response = await postChat(server.url, { message: 'Tell me a story' }, { signal: browser.signal });
      await readEvents(response, (_event, all) => (textOf(all) === 'Some words then ' ? 'stop' : undefined));
      browser.abort();
      await expect.poll(() => budget.used(), { timeout: 10_000 }).toBeGreaterThan(0);
      const spent = await budget.used();
      // The question and the system prompt (about 20 tokens) plus the three words seen.
      expect(spent).toBeGreaterThan(15);
      expect(spent).toBeLessThan(60);
      // Nothing is left held: the rest of the budget admits a request of any size that fits.
      expect(await budget.reserve({ inputTokens: 100_000 - spent, outputTokens: 0 }, 100_000)).toBeDefined();
    } finally {
      await server.close();
    }
  });

  it('is off by default', () =>
    withServer({}, async (s) => {
      upstream.script({ kind: 'deltas', deltas: ['a'], usage: { prompt: 5_000_000, completion: 5_000_000 } });
      await readEvents(await postChat(s.url, { message: 'One' }));
      expect((await postChat(s.url, { message: 'Two' })).status).toBe(200);
    }));
});
