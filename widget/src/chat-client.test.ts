import type { StreamEvent } from '@chatdrop/shared';
import { describe, expect, it } from 'vitest';
import { ChatError, createChatClient, isAbort } from './chat-client.js';
import { createFakeApi, delta, end, gate, json, noContent, sse, start } from './test/fake-api.js';

const collect = () => {
  const events: StreamEvent[] = [];
  const ids: (string | undefined)[] = [];
  return { events, ids, on: (e: StreamEvent, id: string | undefined) => (events.push(e), ids.push(id)) };
};

describe('chat client', () => {
  it('reads the contract events in order from frames cut into 3-byte pieces, multibyte text intact', async () => {
    const api = createFakeApi({
      'POST /api/chat': () => sse([start(), delta('Hé'), delta('llo 👋 مرحبا'), end()], { chunk: 3, prefix: ': ping\n\n' }),
    });
    const client = createChatClient(api.origin, api.fetch);
    const got = collect();
    await client.chat({ message: 'hi' }, got.on, new AbortController().signal);
    expect(got.events.map((e) => e.type)).toEqual(['message-start', 'text-delta', 'text-delta', 'message-end']);
    expect(got.events.filter((e) => e.type === 'text-delta').map((e) => e.delta).join('')).toBe('Héllo 👋 مرحبا');
    expect(got.ids).toEqual(['1', '2', '3', '4']);
    expect(api.calls[0]).toEqual({ method: 'POST', path: '/api/chat', body: { message: 'hi' } });
  });

  it('reads CRLF-framed events whose line ends are split across chunks', async () => {
    const raw = 'id: 1\r\ndata: {"type":"text-delta","delta":"a"}\r\n\r\nid: 2\r\ndata: ' +
      JSON.stringify(end()) + '\r\n\r\n';
    const bytes = new TextEncoder().encode(raw);
    const cut = raw.indexOf('\r\n') + 1; // between CR and LF
    const api = createFakeApi({
      'POST /api/chat': () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(bytes.slice(0, cut));
              c.enqueue(bytes.slice(cut));
              c.close();
            },
          }),
        ),
    });
    const got = collect();
    await createChatClient(api.origin, api.fetch).chat({ message: 'x' }, got.on, new AbortController().signal);
    expect(got.events).toEqual([delta('a'), end()]);
  });

  it('reads a stream that starts with a UTF-8 byte order mark', async () => {
    const raw = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(`id: 1\ndata: ${JSON.stringify(end())}\n\n`)]);
    const api = createFakeApi({ 'POST /api/chat': () => new Response(raw) });
    const got = collect();
    await createChatClient(api.origin, api.fetch).chat({ message: 'x' }, got.on, new AbortController().signal);
    expect(got.events).toEqual([end()]);
    expect(got.ids).toEqual(['1']);
  });

  it('skips data that is not a contract event instead of failing the reply', async () => {
    const api = createFakeApi({
      'POST /api/chat': () => sse([start(), delta('ok'), end()], { prefix: 'data: {"type":"surprise"}\n\ndata: not json\n\n' }),
    });
    const got = collect();
    await createChatClient(api.origin, api.fetch).chat({ message: 'x' }, got.on, new AbortController().signal);
    expect(got.events.map((e) => e.type)).toEqual(['message-start', 'text-delta', 'message-end']);
  });

  it('turns a JSON error body into a typed error carrying Retry-After', async () => {
    const api = createFakeApi({
      'POST /api/chat': () =>
        json(429, { error: { code: 'rate-limited', message: 'Slow down.' } }, { 'Retry-After': '42' }),
    });
    const error = await createChatClient(api.origin, api.fetch)
      .chat({ message: 'x' }, () => {}, new AbortController().signal)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: 'rate-limited', message: 'Slow down.', retryAfter: 42 });
  });

  it('maps a non-contract error page by its status', async () => {
    const api = createFakeApi({ 'POST /api/chat': () => new Response('<h1>Bad gateway</h1>', { status: 502 }) });
    const error = await createChatClient(api.origin, api.fetch)
      .chat({ message: 'x' }, () => {}, new AbortController().signal)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'internal', message: '' });
  });

  it('reports a stream that ends before message-end as a network error', async () => {
    const api = createFakeApi({ 'POST /api/chat': () => sse([start(), delta('half')]) });
    const error = await createChatClient(api.origin, api.fetch)
      .chat({ message: 'x' }, () => {}, new AbortController().signal)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'network' });
  });

  it('rejects with an AbortError, not a ChatError, when aborted mid-stream', async () => {
    const hold = gate();
    const api = createFakeApi({ 'POST /api/chat': (req) => sse([start(), delta('a')], { signal: req.signal, hold: hold.promise }) });
    const abort = new AbortController();
    const got = collect();
    const pending = createChatClient(api.origin, api.fetch).chat({ message: 'x' }, got.on, abort.signal);
    while (got.events.length < 2) await new Promise((r) => setTimeout(r, 2));
    abort.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(isAbort(error)).toBe(true);
  });

  it('resumes with GET /stream and Last-Event-ID, reading the events through the same reader', async () => {
    const api = createFakeApi({
      'GET /api/chat/:id/stream': (req) => sse([delta('lo 👋'), end()], { from: Number(req.lastEventId), chunk: 3 }),
    });
    const got = collect();
    const resumed = await createChatClient(api.origin, api.fetch).resume('m/1', '7', got.on, new AbortController().signal);
    expect(resumed).toBe(true);
    expect(api.calls).toEqual([{ method: 'GET', path: '/api/chat/m%2F1/stream', body: undefined, lastEventId: '7' }]);
    expect(got.events).toEqual([delta('lo 👋'), end()]);
    expect(got.ids).toEqual(['8', '9']);
  });

  it('answers false when there is nothing left to resume (204), and a cut resume is a network error', async () => {
    let calls = 0;
    const api = createFakeApi({
      'GET /api/chat/:id/stream': () => (++calls === 1 ? noContent() : sse([delta('x')], { from: 3, fail: true })),
    });
    const client = createChatClient(api.origin, api.fetch);
    const signal = new AbortController().signal;
    expect(await client.resume('a1', '3', () => {}, signal)).toBe(false);
    expect(await client.resume('a1', '3', () => {}, signal).catch((e: unknown) => e)).toMatchObject({ code: 'network' });
  });

  it('answers undefined for a conversation the server no longer has', async () => {
    const api = createFakeApi({});
    expect(await createChatClient(api.origin, api.fetch).conversation('gone')).toBeUndefined();
    expect(api.calls[0]?.path).toBe('/api/conversations/gone');
  });
});
