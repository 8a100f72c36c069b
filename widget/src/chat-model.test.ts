import { describe, expect, it } from 'vitest';
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
    expect(model.announcement.value).toBe('Hi!');
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
    expect(model.error.value).toEqual({ code: 'rate-limited', message: 'Too many requests.', retryAfter: 30 });
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
