import { afterEach, describe, expect, it, vi } from 'vitest';
import { createChatClient } from './chat-client.js';
import { createChatModel, type MessageEventDetail } from './chat-model.js';
import { createFakeApi, delta, end, gate, json, noContent, sse, start, until, type Handler } from './test/fake-api.js';

const KEY = 'chatdrop:https://chat.example.com';

function setup(routes: Record<string, Handler>, stored?: string) {
  localStorage.clear();
  if (stored) localStorage.setItem(KEY, stored);
  const api = createFakeApi(routes);
  const seen: MessageEventDetail[] = [];
  const model = createChatModel({
    client: createChatClient(api.origin, api.fetch),
    storage: localStorage,
    key: KEY,
    onMessage: (m) => seen.push(m),
  });
  return { api, model, seen };
}

const texts = (model: ReturnType<typeof setup>['model']) =>
  model.messages.value.map((m) => `${m.role}:${m.text.value}:${m.state.value}`);

describe('chat model', () => {
  it('sends, streams deltas into the reply signal, and ends complete', async () => {
    const hold = gate();
    const { model, api, seen } = setup({
      'POST /api/chat': (req) =>
        sse([start('c1', 'a1'), delta('Hel'), delta('lo')], { signal: req.signal, hold: hold.promise.then(() => {}) }),
    });
    const sending = model.send('  Hi there ');
    await until(() => model.messages.value[1]?.text.value === 'Hello', 'deltas');
    expect(model.status.value).toBe('streaming');
    expect(texts(model)).toEqual(['user:Hi there:done', 'assistant:Hello:streaming']);
    hold.open();
    // The held stream closes without message-end: the reply is cut, and a network error shows.
    await sending;
    expect(model.messages.value[1]?.state.value).toBe('cut');
    expect(model.error.value?.code).toBe('network');
    expect(api.calls[0]?.body).toEqual({ message: 'Hi there' });
    expect(seen).toEqual([{ role: 'user', content: 'Hi there', status: 'complete' }]);
  });

  it('ends complete on message-end stop, remembers the conversation and tells other tabs', async () => {
    const { model, api, seen } = setup({
      'POST /api/chat': () => sse([start('c9', 'a1'), delta('Hi'), delta('!'), end('stop')]),
    });
    await model.send('Hello');
    expect(texts(model)).toEqual(['user:Hello:done', 'assistant:Hi!:done']);
    expect(model.status.value).toBe('idle');
    expect(model.conversationId.value).toBe('c9');
    expect(localStorage.getItem(KEY)).toBe('c9');
    expect(localStorage.getItem(`${KEY}:rev`)).toBeTruthy();
    // The announcement waits for the log to show the reply (plain-text.ts); there is no log here.
    await until(() => model.announcement.value === 'Hi!', 'announcement');
    expect(seen.at(-1)).toEqual({ role: 'assistant', content: 'Hi!', id: 'a1', status: 'complete' });
    // The next turn names the conversation, and never sends history.
    await model.send('Again');
    expect(api.calls[1]?.body).toEqual({ message: 'Again', conversationId: 'c9' });
  });

  it('stop aborts the fetch, calls the stop endpoint and keeps the partial reply as cut', async () => {
    let aborted = false;
    const { model, api } = setup({
      'POST /api/chat': (req) => {
        req.signal?.addEventListener('abort', () => (aborted = true));
        return sse([start('c1', 'msg-7'), delta('Partial')], { signal: req.signal, hold: new Promise(() => {}) });
      },
      'POST /api/chat/:id/stop': () => new Response(null, { status: 204 }),
    });
    const sending = model.send('Tell me a long story');
    await until(() => model.messages.value[1]?.text.value === 'Partial', 'first delta');
    model.stop();
    await sending;
    expect(aborted).toBe(true);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toContain('POST /api/chat/msg-7/stop');
    expect(texts(model)).toEqual(['user:Tell me a long story:done', 'assistant:Partial:cut']);
    expect(model.status.value).toBe('idle');
    expect(model.error.value).toBeUndefined(); // an abort is not an error
  });

  it('shows the server error event and Retry resends the same question', async () => {
    let calls = 0;
    const { model, api } = setup({
      'POST /api/chat': () =>
        ++calls === 1
          ? sse([start('c1', 'a1'), { type: 'error', code: 'upstream-unavailable', message: 'The assistant is unavailable.', retryable: true }, end('error')])
          : sse([start('c1', 'a2'), delta('Fine now'), end()]),
    });
    await model.send('Why?');
    expect(model.error.value).toEqual({ code: 'upstream-unavailable', message: 'The assistant is unavailable.' });
    expect(texts(model)).toEqual(['user:Why?:done']); // the empty failed reply leaves no bubble
    await model.retry();
    expect(api.calls.map((c) => c.body)).toEqual([{ message: 'Why?' }, { message: 'Why?', conversationId: 'c1' }]);
    expect(texts(model)).toEqual(['user:Why?:done', 'assistant:Fine now:done']);
    expect(model.error.value).toBeUndefined();
  });

  it('keeps the seconds of Retry-After from a 429', async () => {
    const { model } = setup({
      'POST /api/chat': () => json(429, { error: { code: 'rate-limited', message: 'Too many requests.' } }, { 'Retry-After': '30' }),
    });
    await model.send('Hi');
    expect(model.error.value).toMatchObject({ code: 'rate-limited', message: 'Too many requests.', retryAfter: 30 });
    expect(model.status.value).toBe('idle');
  });

  it('restores the stored conversation, leaving an incomplete last reply cut when nothing is left to resume (204)', async () => {
    const { model, api } = setup(
      {
        'GET /api/conversations/:id': (req) =>
          json(200, {
            id: req.params[0],
            messages: [
              { id: 'u1', role: 'user', content: 'Q1', createdAt: '2025-01-01T00:00:00Z', status: 'complete' },
              { id: 'a1', role: 'assistant', content: 'A1', createdAt: '2025-01-01T00:00:01Z', status: 'complete' },
              { id: 'u2', role: 'user', content: 'Q2', createdAt: '2025-01-01T00:00:02Z', status: 'complete' },
              { id: 'a2', role: 'assistant', content: 'A2 half', createdAt: '2025-01-01T00:00:03Z', status: 'incomplete' },
            ],
          }),
        'GET /api/chat/:id/stream': () => noContent(),
        'POST /api/chat': () => sse([start('c-old', 'a3'), delta('A2 full'), end()]),
      },
      'c-old',
    );
    await model.restore();
    await until(() => api.calls.length === 2 && model.status.value === 'idle', 'resume answered 204');
    expect(api.calls.map((c) => [c.path, c.lastEventId])).toEqual([
      ['/api/conversations/c-old', undefined],
      ['/api/chat/a2/stream', '0'],
    ]);
    expect(model.error.value).toBeUndefined();
    expect(model.conversationId.value).toBe('c-old');
    expect(texts(model)).toEqual(['user:Q1:done', 'assistant:A1:done', 'user:Q2:done', 'assistant:A2 half:cut']);
    expect(model.messages.value[1]?.id).toBe('a1');
    await model.retry();
    expect(api.calls.at(-1)?.body).toEqual({ message: 'Q2', conversationId: 'c-old' });
    expect(texts(model)).toEqual(['user:Q1:done', 'assistant:A1:done', 'user:Q2:done', 'assistant:A2 full:done']);
  });

  it('starts fresh quietly when the stored conversation is gone (404)', async () => {
    const { model, api } = setup({ 'POST /api/chat': () => sse([start('new', 'a1'), delta('Hi'), end()]) }, 'expired');
    await model.restore();
    expect(model.messages.value).toEqual([]);
    expect(model.error.value).toBeUndefined();
    expect(localStorage.getItem(KEY)).toBeNull();
    await model.send('Hello');
    expect(api.calls.at(-1)?.body).toEqual({ message: 'Hello' });
  });

  it('a send during the first restore waits for it and continues the stored conversation', async () => {
    const { model, api } = setup(
      {
        'GET /api/conversations/:id': () => json(200, { id: 'c5', messages: [] }),
        'POST /api/chat': () => sse([start('c5', 'a1'), end()]),
      },
      'c5',
    );
    void model.restore();
    await model.send('Hi');
    expect(api.calls.at(-1)?.body).toEqual({ message: 'Hi', conversationId: 'c5' });
  });

  it('reset starts a fresh conversation without deleting anything on the server', async () => {
    const { model, api } = setup({ 'POST /api/chat': () => sse([start('c1', 'a1'), delta('x'), end()]) });
    await model.send('One');
    model.reset();
    expect(model.messages.value).toEqual([]);
    expect(model.conversationId.value).toBeUndefined();
    expect(localStorage.getItem(KEY)).toBeNull();
    await model.send('Two');
    expect(api.calls.map((c) => c.method)).not.toContain('DELETE');
    expect(api.calls.at(-1)?.body).toEqual({ message: 'Two' });
  });

  it('rates a finished reply through the feedback endpoint', async () => {
    const { model, api } = setup({
      'POST /api/chat': () => sse([start('c1', 'a1'), delta('x'), end()]),
      'POST /api/feedback': () => noContent(),
    });
    await model.send('Q');
    const reply = model.messages.value[1]!;
    model.rate(reply, 'down');
    expect(reply.rating.value).toBe('down');
    await until(() => api.calls.length === 2, 'feedback call');
    expect(api.calls[1]).toEqual({ method: 'POST', path: '/api/feedback', body: { conversationId: 'c1', messageId: 'a1', rating: 'down' } });
  });

  it('sync shows what another tab added to the same conversation', async () => {
    let messages = [{ id: 'u1', role: 'user', content: 'From tab A', createdAt: 'x', status: 'complete' }];
    const { model } = setup({ 'GET /api/conversations/:id': () => json(200, { id: 'c1', messages }) }, 'c1');
    await model.restore();
    messages = [...messages, { id: 'a1', role: 'assistant', content: 'Answer', createdAt: 'y', status: 'complete' }];
    model.sync();
    await until(() => model.messages.value.length === 2, 'sync');
    expect(texts(model)).toEqual(['user:From tab A:done', 'assistant:Answer:done']);
  });
});

describe('chat model resuming a dropped reply (issue 6)', () => {
  const resumes = (api: ReturnType<typeof setup>['api']) =>
    api.calls.filter((c) => c.path.endsWith('/stream')).map((c) => `${c.path} ${c.lastEventId}`);
  // Skips a backoff wait the way a browser coming back online does.
  const online = () => window.dispatchEvent(new Event('online'));
  afterEach(() => vi.restoreAllMocks());

  it('resumes a stream cut after 3 events with Last-Event-ID 3, the text exact with no gap and no duplicate', async () => {
    const { model, api, seen } = setup({
      'POST /api/chat': () => sse([start('c1', 'a1'), delta('Hel'), delta('lo, ')], { fail: true }),
      'GET /api/chat/:id/stream': (req) => sse([delta('wor'), delta('ld'), end()], { from: Number(req.lastEventId), signal: req.signal }),
    });
    await model.send('Hi');
    expect(resumes(api)).toEqual(['/api/chat/a1/stream 3']);
    expect(texts(model)).toEqual(['user:Hi:done', 'assistant:Hello, world:done']);
    expect(model.error.value).toBeUndefined();
    expect(seen.at(-1)).toEqual({ role: 'assistant', content: 'Hello, world', id: 'a1', status: 'complete' });
  });

  it('drops replayed events it has already seen and resumes again after a second drop', async () => {
    const { model, api } = setup({
      'POST /api/chat': () => sse([start('c1', 'a1'), delta('One '), delta('two ')]),
      'GET /api/chat/:id/stream': (req) =>
        req.lastEventId === '3'
          ? // A server that replays one event too many (ids 2 and 3 again), then drops once more.
            sse([delta('One '), delta('two '), delta('three ')], { from: 1, fail: true })
          : sse([delta('four'), end()], { from: 4 }),
    });
    const sending = model.send('Count');
    await until(() => resumes(api).length === 1, 'first resume');
    online();
    await until(() => resumes(api).length === 2, 'second resume');
    online();
    await sending;
    expect(resumes(api)).toEqual(['/api/chat/a1/stream 3', '/api/chat/a1/stream 4']);
    expect(model.messages.value[1]?.text.value).toBe('One two three four');
    expect(model.messages.value[1]?.state.value).toBe('done');
  });

  it('tries the resume again after a 503 (the server without its Redis for a moment)', async () => {
    let calls = 0;
    const { model, api } = setup({
      'POST /api/chat': () => sse([start('c1', 'a1'), delta('Half ')], { fail: true }),
      'GET /api/chat/:id/stream': (req) =>
        ++calls === 1
          ? json(503, { error: { code: 'upstream-unavailable', message: 'Try again.' } }, { 'Retry-After': '1' })
          : sse([delta('and the rest.'), end()], { from: Number(req.lastEventId) }),
    });
    const sending = model.send('Go');
    await until(() => resumes(api).length === 1, 'first resume');
    online();
    await sending;
    expect(resumes(api)).toEqual(['/api/chat/a1/stream 2', '/api/chat/a1/stream 2']);
    expect(model.messages.value[1]?.text.value).toBe('Half and the rest.');
    expect(model.error.value).toBeUndefined();
  });

  it('refreshes from the stored conversation when the resume answers 204 (the reply ended meanwhile)', async () => {
    const { model, api } = setup({
      'POST /api/chat': () => sse([start('c1', 'a1'), delta('Half')], { fail: true }),
      'GET /api/chat/:id/stream': () => noContent(),
      'GET /api/conversations/:id': () =>
        json(200, {
          id: 'c1',
          messages: [
            { id: 'u1', role: 'user', content: 'Q', createdAt: 'x', status: 'complete' },
            { id: 'a1', role: 'assistant', content: 'Half and the rest', createdAt: 'y', status: 'complete' },
          ],
        }),
    });
    await model.send('Q');
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /api/chat',
      'GET /api/chat/a1/stream',
      'GET /api/conversations/c1',
    ]);
    expect(texts(model)).toEqual(['user:Q:done', 'assistant:Half and the rest:done']);
    expect(model.status.value).toBe('idle');
    expect(model.error.value).toBeUndefined();
  });

  it('a reload mid-answer replays the running reply from id 0, replacing its stored text, and follows it to the end', async () => {
    const hold = gate();
    const { model, api, seen } = setup(
      {
        'GET /api/conversations/:id': () =>
          json(200, {
            id: 'c1',
            messages: [
              { id: 'u1', role: 'user', content: 'Q', createdAt: 'x', status: 'complete' },
              { id: 'a1', role: 'assistant', content: 'Hel', createdAt: 'y', status: 'incomplete' },
            ],
          }),
        'GET /api/chat/:id/stream': (req) =>
          sse([start('c1', 'a1'), delta('Hel'), delta('lo')], { signal: req.signal, hold: hold.promise, after: [delta(' there'), end()] }),
      },
      'c1',
    );
    await model.restore();
    await until(() => model.messages.value[1]?.text.value === 'Hello', 'replayed text');
    expect(model.status.value).toBe('streaming');
    expect(model.messages.value[1]?.state.value).toBe('streaming');
    hold.open();
    await until(() => model.status.value === 'idle', 'end');
    expect(resumes(api)).toEqual(['/api/chat/a1/stream 0']);
    expect(texts(model)).toEqual(['user:Q:done', 'assistant:Hello there:done']);
    expect(seen).toEqual([{ role: 'assistant', content: 'Hello there', id: 'a1', status: 'complete' }]);
  });

  it('Stop, while streaming or while waiting to resume, aborts, asks the server to stop, and never resumes', async () => {
    let cut = false;
    const { model, api } = setup({
      'POST /api/chat': (req) =>
        cut
          ? sse([start('c1', 'a2'), delta('Dropped')], { fail: true })
          : sse([start('c1', 'a1'), delta('Long')], { signal: req.signal, hold: new Promise(() => {}) }),
      'POST /api/chat/:id/stop': () => noContent(),
      'GET /api/chat/:id/stream': () => sse([delta('!'), end()], { from: 2 }),
    });
    const first = model.send('One');
    await until(() => model.messages.value[1]?.text.value === 'Long', 'first delta');
    model.stop();
    await first;
    cut = true;
    const second = model.send('Two');
    await until(() => model.messages.value[3]?.text.value === 'Dropped' && api.calls.length === 3, 'drop');
    model.stop(); // during the backoff wait
    await second;
    online(); // would end a pending wait at once
    await new Promise((r) => setTimeout(r, 20));
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /api/chat',
      'POST /api/chat/a1/stop',
      'POST /api/chat',
      'POST /api/chat/a2/stop',
    ]);
    expect(texts(model)).toEqual(['user:One:done', 'assistant:Long:cut', 'user:Two:done', 'assistant:Dropped:cut']);
    expect(model.error.value).toBeUndefined();
  });

  it('backs off 0.5, 1, 2, 4, 8 s over five failed resumes, then shows the network error and Retry works', async () => {
    const delays: number[] = [];
    const real = window.setTimeout.bind(window);
    vi.spyOn(window, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if (ms && ms >= 500) delays.push(ms);
      return real(fn, ms);
    }) as typeof setTimeout);
    let down = true;
    const { model, api } = setup({
      'POST /api/chat': () =>
        down ? sse([start('c1', 'a1'), delta('Part')], { fail: true }) : sse([start('c1', 'a2'), delta('Whole'), end()]),
      'GET /api/chat/:id/stream': () => Promise.reject(new TypeError('Failed to fetch')),
    });
    const sending = model.send('Q');
    for (let n = 1; n <= 5; n++) {
      await until(() => resumes(api).length === n, `resume ${n}`);
      if (n < 5) online();
    }
    await sending;
    expect(resumes(api)).toEqual(Array(5).fill('/api/chat/a1/stream 2'));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(model.error.value?.code).toBe('network');
    expect(texts(model)).toEqual(['user:Q:done', 'assistant:Part:cut']);
    down = false;
    await model.retry();
    expect(texts(model)).toEqual(['user:Q:done', 'assistant:Whole:done']);
  });

  it("sends the page the visitor asks from, as the page option gives it, with every message", async () => {
    const api = createFakeApi({ 'POST /api/chat': () => sse([start('c1', 'a1'), delta('Hi'), end()]) });
    let page: string | undefined = 'https://shop.example/help/returns';
    const model = createChatModel({ client: createChatClient(api.origin, api.fetch), storage: undefined, key: KEY, page: () => page });
    await model.send('Hello');
    expect(api.calls.at(-1)?.body).toEqual({ message: 'Hello', page: 'https://shop.example/help/returns' });
    page = undefined;
    await model.send('Again');
    expect(api.calls.at(-1)?.body).toEqual({ message: 'Again', conversationId: 'c1' });
  });
});
