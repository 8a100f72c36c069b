import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@chatdrop/shared';
import { MemoryTokenBudget } from '../limits/memory-token-budget.js';
import { CANARY_KEY, startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockScript, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf, type ReceivedEvent } from '../test/read-sse.js';

/**
 * A streaming request answered with something other than a whole event stream, through the real
 * `openai` SDK and our fetch against the mock upstream over real HTTP, and the real chat route:
 * a server that ignores `stream: true` and sends one JSON chat completion (its reply is used),
 * anything else that is not an event stream (an error, the fallback tried), an event stream cut
 * before its finish reason (an error, never a silent success).
 */
let upstream: MockUpstream;
let server: TestServer;
const budget = new MemoryTokenBudget();

beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({
    upstream,
    env: { CHATDROP_MODELS: 'fast=gpt-primary', CHATDROP_FALLBACKS: 'fast=gpt-backup', CHATDROP_DAILY_TOKEN_BUDGET: '1000000', CHATDROP_RATE_LIMIT: '1000' },
    shared: { budget },
  });
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

interface Asked {
  events: ReceivedEvent[];
  /** The response as the browser got it, byte for byte. */
  raw: string;
  /** The stored assistant message. */
  stored: { content: string; status: string } | undefined;
  /** Upstream models asked, in order. */
  models: string[];
  /** What the daily budget counted for this reply. */
  spent: number;
  /** The log lines written meanwhile. */
  logs: string;
}

async function ask(...scripts: MockScript[]): Promise<Asked> {
  upstream.requests.length = 0;
  upstream.script(...scripts);
  const usedBefore = await budget.used();
  const logsBefore = server.logs.length;
  const response = await postChat(server.url, { message: 'What are your opening hours?' });
  const raw = await response.clone().text();
  const { events } = await readEvents(response);
  const start = events[0]?.event;
  if (start?.type !== 'message-start') throw new Error('no message-start');
  const stored = (await server.store.getConversation(start.conversationId))?.messages[1];
  return {
    events,
    raw,
    stored,
    models: upstream.requests.map((r) => r.body.model as string),
    spent: (await budget.used()) - usedBefore,
    logs: server.logs.slice(logsBefore).join('\n'),
  };
}

/** The event types in order, a run of text-deltas as one (how text is cut into deltas depends on timing). */
const types = (events: ReceivedEvent[]): string[] =>
  events.map((e) => e.event.type).filter((type, i, all) => type !== 'text-delta' || all[i - 1] !== 'text-delta');
const end = (events: ReceivedEvent[]): StreamEvent => events.at(-1)!.event;

/** One chunk of an event stream in OpenAI's shape. */
const chunk = (delta: object, finish: string | null = null): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'gpt-mock', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

describe('an upstream that ignores stream: true and answers one JSON chat completion', () => {
  it('makes its content the reply, with its finish reason, and counts its usage against the daily budget', async () => {
    const asked = await ask({ kind: 'completion', content: 'We are open 9 to 5, Monday to Friday.', usage: { prompt: 40, completion: 11 } });
    expect(types(asked.events)).toEqual(['message-start', 'text-delta', 'message-end']);
    expect(textOf(asked.events)).toBe('We are open 9 to 5, Monday to Friday.');
    expect(end(asked.events)).toEqual({ type: 'message-end', finishReason: 'stop', usage: { inputTokens: 40, outputTokens: 11 } });
    expect(asked.stored).toMatchObject({ content: 'We are open 9 to 5, Monday to Friday.', status: 'complete' });
    expect(asked.spent).toBe(51);
    // Asked once, for a stream; no fallback.
    expect(asked.models).toEqual(['gpt-primary']);
    expect(upstream.requests[0]!.body).toMatchObject({ stream: true });
  });

  it('keeps a finish reason of length or content-filter, and shows a refusal as text', async () => {
    const long = await ask({ kind: 'completion', content: 'We are open from', finishReason: 'length' });
    expect(textOf(long.events)).toBe('We are open from');
    expect(end(long.events)).toMatchObject({ finishReason: 'length' });
    expect(long.stored).toMatchObject({ status: 'complete' });

    const filtered = await ask({ kind: 'completion', content: '', finishReason: 'content_filter' });
    expect(types(filtered.events)).toEqual(['message-start', 'message-end']);
    expect(end(filtered.events)).toMatchObject({ finishReason: 'content-filter' });

    const refused = await ask({ kind: 'completion', content: null, refusal: 'I cannot help with that.' });
    expect(textOf(refused.events)).toBe('I cannot help with that.');
    expect(end(refused.events)).toMatchObject({ finishReason: 'stop' });
  });

  it('counts the reply itself when the usage is not two whole token counts', async () => {
    const body = JSON.stringify({
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Open all week.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: '40', completion_tokens: -3 },
    });
    const asked = await ask({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body });
    expect(textOf(asked.events)).toBe('Open all week.');
    const ended = end(asked.events);
    if (ended.type !== 'message-end') throw new Error('no message-end');
    // Our own count: the question as sent, and the reply's few tokens.
    expect(ended.usage.inputTokens).toBeGreaterThan(5);
    expect(ended.usage.outputTokens).toBeGreaterThan(0);
    expect(asked.spent).toBe(ended.usage.inputTokens + ended.usage.outputTokens);
    expect(asked.logs).not.toContain('could not account');
  });
});

describe('any other answer that is not an event stream', () => {
  const json = { 'content-type': 'application/json' };
  it.each<[string, MockScript, RegExp]>([
    [
      'an HTML page with 200',
      { kind: 'raw', status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!doctype html>\n<title>Portal</title>\n<p>body-canary</p>\n' },
      /200 text\/html, \d+ characters that are not JSON/,
    ],
    ['JSON that is not a completion', { kind: 'raw', status: 200, headers: json, body: '{"status":"ok","note":"body-canary"}' }, /JSON that is not a chat completion/],
    ['an empty body', { kind: 'raw', status: 200, headers: json, body: '' }, /200 application\/json, an empty body/],
    ['a body with no type at all', { kind: 'raw', status: 200, body: 'body-canary' }, /200 no Content-Type, \d+ characters that are not JSON/],
    [
      'a completion without a finish reason',
      { kind: 'completion', content: 'body-canary', finishReason: null },
      /not a chat completion \(no finish reason\)/,
    ],
  ])('ends %s with a retryable upstream-unavailable after asking the fallback, the body in neither the reply nor the log', async (_name, script, detail) => {
    const asked = await ask(script);
    expect(types(asked.events)).toEqual(['message-start', 'error', 'message-end']);
    expect(asked.events[1]!.event).toEqual({
      type: 'error',
      code: 'upstream-unavailable',
      message: 'The assistant is unavailable right now. Please try again in a moment.',
      retryable: true,
    });
    expect(end(asked.events)).toMatchObject({ finishReason: 'error' });
    expect(asked.stored).toMatchObject({ content: '', status: 'incomplete' });
    expect(asked.models).toEqual(['gpt-primary', 'gpt-backup']);
    expect(asked.raw).not.toContain('body-canary');
    expect(asked.logs).toMatch(detail);
    expect(asked.logs).toContain('"errorCode":"upstream-unavailable"');
    expect(asked.logs).not.toContain('body-canary');
  });

  it('answers with the fallback model when only the primary sent something else', async () => {
    const asked = await ask(
      { kind: 'raw', status: 200, headers: { 'content-type': 'text/html' }, body: '<p>Maintenance</p>' },
      { kind: 'deltas', deltas: ['From ', 'the backup.'] },
    );
    expect(textOf(asked.events)).toBe('From the backup.');
    expect(end(asked.events)).toMatchObject({ finishReason: 'stop' });
    expect(asked.models).toEqual(['gpt-primary', 'gpt-backup']);
  });

  it('stops reading a body that runs past a MiB without an event and closes its connection, instead of waiting for its end', async () => {
    // The body never ends: read whole, the reply would wait for the first-token timeout.
    const asked = await ask({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: '{"pad":1}\n'.repeat(120_000), hold: true });
    expect(asked.events[1]!.event).toMatchObject({ type: 'error', code: 'upstream-unavailable' });
    expect(asked.logs).toMatch(/more than 1048576 characters without an event/);
    await upstream.waitForAbort(0);
    await upstream.waitForAbort(1);
  });

  it('fails a 200 carrying OpenAI\'s error object as an in-stream error: its message to the log only, without the key', async () => {
    const body = JSON.stringify({ error: { message: `Quota trouble for ${CANARY_KEY} detail-json-error`, type: 'server_error', param: null, code: null } });
    const asked = await ask({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body });
    expect(asked.events[1]!.event).toMatchObject({ type: 'error', code: 'upstream-unavailable', retryable: true });
    expect(asked.raw).not.toContain('detail-json-error');
    expect(asked.logs).toContain('detail-json-error');
    expect(asked.logs).not.toContain(CANARY_KEY);
  });

  it('still streams an event stream labelled text/plain or not labelled at all', async () => {
    const wire = chunk({ role: 'assistant', content: '' }) + chunk({ content: 'Open ' }) + chunk({ content: 'daily.' }) + chunk({}, 'stop') + 'data: [DONE]\n\n';
    for (const headers of [{ 'content-type': 'text/plain; charset=utf-8' }, {}] as Record<string, string>[]) {
      const asked = await ask({ kind: 'raw', status: 200, headers, body: wire });
      expect(textOf(asked.events)).toBe('Open daily.');
      expect(end(asked.events)).toMatchObject({ finishReason: 'stop' });
      expect(asked.models).toEqual(['gpt-primary']);
    }
  });

  it('logs only the start of an error status\'s body that is not JSON (a proxy\'s HTML page)', async () => {
    const page = `<!doctype html><h1>502 Bad Gateway</h1>${'<p>padding</p>'.repeat(2000)}<p>body-canary-tail</p>`;
    const asked = await ask({ kind: 'raw', status: 502, headers: { 'content-type': 'text/html' }, body: page });
    expect(asked.events[1]!.event).toMatchObject({ type: 'error', code: 'upstream-unavailable' });
    expect(asked.logs).toContain('502 Bad Gateway');
    expect(asked.logs).not.toContain('body-canary-tail');
  });
});

describe('an event stream that ends without a finish reason', () => {
  const cut = (wire: string): MockScript => ({ kind: 'raw', status: 200, headers: { 'content-type': 'text/event-stream' }, body: wire });

  it('keeps the text that came as an incomplete reply and ends with a retryable upstream-unavailable, not a success', async () => {
    const asked = await ask(cut(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'We are open ' }) + chunk({ content: 'from 9 to' })));
    expect(types(asked.events)).toEqual(['message-start', 'text-delta', 'error', 'message-end']);
    expect(textOf(asked.events)).toBe('We are open from 9 to');
    expect(asked.events.at(-2)!.event).toMatchObject({ code: 'upstream-unavailable', retryable: true });
    expect(end(asked.events)).toMatchObject({ finishReason: 'error' });
    expect(asked.stored).toMatchObject({ content: 'We are open from 9 to', status: 'incomplete' });
    // Text went out: another model would repeat it.
    expect(asked.models).toEqual(['gpt-primary']);
    expect(asked.logs).toMatch(/ended without a finish reason or \[DONE\]: cut short/);
    // Billed as far as it went: our own count.
    expect(asked.spent).toBeGreaterThan(0);
  });

  it('says so when [DONE] came without a finish reason', async () => {
    const asked = await ask(cut(chunk({ content: 'Open' }) + 'data: [DONE]\n\n'));
    expect(types(asked.events)).toEqual(['message-start', 'text-delta', 'error', 'message-end']);
    expect(asked.logs).toMatch(/ended with \[DONE\] but no finish reason/);
  });

  it('asks the fallback model when the cut stream had shown nothing', async () => {
    const asked = await ask(cut(chunk({ role: 'assistant', content: '' })), { kind: 'deltas', deltas: ['Open ', 'daily.'] });
    expect(textOf(asked.events)).toBe('Open daily.');
    expect(end(asked.events)).toMatchObject({ finishReason: 'stop' });
    expect(asked.models).toEqual(['gpt-primary', 'gpt-backup']);
  });
});
