import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';

let upstream: MockUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({
    upstream,
    env: { CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1', CHATDROP_MODEL_PICKER: '1', CHATDROP_FALLBACKS: 'smart=gpt-4o-mini', CHATDROP_RATE_LIMIT: '1000' },
  });
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

/** Sends one message and reads the reply to its end; answers the conversation id. */
async function chat(body: Record<string, unknown>): Promise<string> {
  const response = await postChat(server.url, body);
  expect(response.status).toBe(200);
  const { events } = await readEvents(response);
  const start = events[0]?.event;
  if (start?.type !== 'message-start') throw new Error('no message-start');
  return start.conversationId;
}

describe('the page a conversation started on', () => {
  it('is stored as origin and path only: no query, fragment or credentials', async () => {
    const id = await chat({ message: 'Hi', page: 'https://user:secret@help.example.com/billing/invoices?token=abc#top' });
    const transcript = await server.store.getTranscript(id);
    expect(transcript?.page).toBe('https://help.example.com/billing/invoices');
    // A later message from another page leaves the starting page as it was.
    await chat({ conversationId: id, message: 'And?', page: 'https://help.example.com/other' });
    expect((await server.store.getTranscript(id))?.page).toBe('https://help.example.com/billing/invoices');
  });

  it('is left out, and the chat still works, when it is not an http(s) URL', async () => {
    for (const page of ['file:///Users/me/page.html', 'javascript:alert(1)', 'not a url', '']) {
      const id = await chat({ message: 'Hi', page });
      expect((await server.store.getTranscript(id))?.page).toBeUndefined();
    }
  });

  it('is refused with 400 when it is not a string or is too long', async () => {
    for (const page of [42, { href: 'https://x.example' }, `https://x.example/${'a'.repeat(3000)}`]) {
      const response = await postChat(server.url, { message: 'Hi', page });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: { code: 'bad-request', message: 'The field "page" is not valid.' } });
    }
  });
});

describe('what a reply came to', () => {
  it('is stored with the reply: model, upstream model, finish, time to first token and tokens', async () => {
    upstream.script({ kind: 'deltas', deltas: ['Hello', ' there'], usage: { prompt: 21, completion: 4 } });
    const id = await chat({ message: 'Hi', model: 'smart' });
    const reply = (await server.store.getTranscript(id))?.messages[1];
    expect(reply).toMatchObject({ role: 'assistant', content: 'Hello there', status: 'complete' });
    expect(reply?.reply).toEqual({
      model: 'smart',
      upstreamModel: 'gpt-4.1',
      finishReason: 'stop',
      firstTokenMs: expect.any(Number),
      durationMs: expect.any(Number),
      inputTokens: 21,
      outputTokens: 4,
    });
    expect(reply!.reply!.durationMs).toBeGreaterThanOrEqual(reply!.reply!.firstTokenMs!);
  });

  it('names the fallback model that answered, and the error of a reply that failed', async () => {
    upstream.script({ kind: 'error', status: 500, message: 'down' }, { kind: 'deltas', deltas: ['Saved'] });
    const saved = await chat({ message: 'Hi', model: 'smart' });
    expect((await server.store.getTranscript(saved))?.messages[1]?.reply).toMatchObject({ model: 'smart', upstreamModel: 'gpt-4o-mini', finishReason: 'stop' });

    upstream.script({ kind: 'error', status: 401, message: 'bad key' });
    const failed = await chat({ message: 'Hi' });
    const reply = (await server.store.getTranscript(failed))?.messages[1];
    expect(reply?.status).toBe('incomplete');
    expect(reply?.reply).toMatchObject({ model: 'fast', finishReason: 'error', errorCode: 'upstream-rejected' });
    expect(reply?.reply?.firstTokenMs).toBeUndefined();
    const [summary] = (await server.store.listConversations({ limit: 1 })).conversations;
    expect(summary).toMatchObject({ id: failed, failed: 1, incomplete: 1 });
    upstream.script({ kind: 'deltas', deltas: ['Hello', ' there', '!'] });
  });
});
