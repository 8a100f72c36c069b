import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import type { TestServer } from '../test/test-server.js';
import { inboxFetch, signIn, startInboxServer } from '../test/inbox-server.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { csvCell } from './csv-cell.js';
import { CSV_COLUMNS } from './transcript-export.js';

let upstream: MockUpstream;
beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  await upstream.close();
});

/** One turn through the real chat API; answers the conversation and reply ids. */
async function chat(server: TestServer, body: Record<string, unknown>): Promise<{ conversationId: string; messageId: string }> {
  const { events } = await readEvents(await postChat(server.url, body));
  const start = events[0]?.event;
  if (start?.type !== 'message-start') throw new Error('no message-start');
  return { conversationId: start.conversationId, messageId: start.messageId };
}

async function json(response: Response): Promise<any> {
  expect(response.status).toBe(200);
  return response.json();
}

/** A minimal RFC 4180 reader for the test: quoted cells, doubled quotes, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else cell += c;
  }
  return rows;
}

describe('the inbox API', () => {
  let server: TestServer;
  let cookie: string;

  // No hand-off channel and no knowledge here: inbox-handoffs.test.ts and inbox-knowledge.test.ts
  // have them, through the real outbox and a real index.
  beforeAll(async () => {
    server = await startInboxServer({
      upstream,
      // The model picker on, so a visitor's `model` is honoured and the model filter has two to tell apart.
      env: { CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1', CHATDROP_MODEL_PICKER: '1', CHATDROP_DAILY_TOKEN_BUDGET: '100000', CHATDROP_RATE_LIMIT: '1000' },
    });
    cookie = await signIn(server);
  });
  afterAll(async () => {
    await server.close();
  });

  it('lists conversations made through the chat API, newest first, with their page, ratings and marks', async () => {
    upstream.script({ kind: 'deltas', deltas: ['You can ', 'return it.'], usage: { prompt: 10, completion: 5 } });
    const returns = await chat(server, { message: 'How do I return shoes?', page: 'https://shop.example/help/returns?x=1' });
    await fetch(`${server.url}/api/feedback`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ conversationId: returns.conversationId, messageId: returns.messageId, rating: 'down' }) });
    upstream.script({ kind: 'error', status: 401, message: 'bad key' });
    const failed = await chat(server, { message: 'Is anyone there?', model: 'smart' });

    const page = await json(await inboxFetch(server, '/api/inbox/conversations', { cookie }));
    expect(page.next).toBeUndefined();
    expect(page.conversations.map((c: { id: string }) => c.id)).toEqual([failed.conversationId, returns.conversationId]);
    expect(page.conversations[1]).toMatchObject({ firstQuestion: 'How do I return shoes?', page: 'https://shop.example/help/returns', messages: 2, down: 1, up: 0, failed: 0 });
    expect(page.conversations[0]).toMatchObject({ firstQuestion: 'Is anyone there?', failed: 1, incomplete: 1 });
    expect(page.conversations.map((c: { handoff?: unknown }) => c.handoff)).toEqual([undefined, undefined]);

    const filtered = (query: string) => inboxFetch(server, `/api/inbox/conversations?${query}`, { cookie }).then(json);
    expect((await filtered('rating=down')).conversations.map((c: { id: string }) => c.id)).toEqual([returns.conversationId]);
    expect((await filtered('problem=failed&model=smart')).conversations.map((c: { id: string }) => c.id)).toEqual([failed.conversationId]);
    expect((await filtered('q=return&page=')).conversations.map((c: { id: string }) => c.id)).toEqual([returns.conversationId]);
    expect((await filtered('page=%2Fhelp%2F')).conversations.map((c: { id: string }) => c.id)).toEqual([returns.conversationId]);
    expect((await filtered('from=2000-01-01&to=2000-01-02')).conversations).toEqual([]);
    expect((await filtered('limit=1')).next).toEqual(expect.any(String));
    // Without a hand-off channel there are no hand-offs to filter by.
    const handoffs = await inboxFetch(server, '/api/inbox/conversations?handoff=1', { cookie });
    expect(handoffs.status).toBe(400);
    expect((await handoffs.json()).error.message).toBe('Hand-offs are not set up on this server.');
    expect(await json(await inboxFetch(server, '/api/inbox/session', { cookie }))).toMatchObject({ handoff: false, knowledge: false });
  });

  it('refuses filters it does not understand with 400 naming them', async () => {
    for (const query of ['rating=meh', 'problem=x', 'from=yesterday', 'to=2030-13-45', 'cursor=%27%20OR%201', 'limit=0', 'limit=5000', 'handoff=yes', 'q=a&q=b']) {
      const response = await inboxFetch(server, `/api/inbox/conversations?${query}`, { cookie });
      expect(response.status, query).toBe(400);
      expect((await response.json()).error.message).toMatch(/^The filter "\w+" is not valid\.$/);
    }
  });

  it('shows one conversation in full: each message with its time, status, rating, model, latency and hand-off', async () => {
    upstream.script({ kind: 'deltas', deltas: ['**Bold** answer'], usage: { prompt: 7, completion: 3 } });
    const turn = await chat(server, { message: '<img src=x onerror=alert(1)>' });
    const transcript = await json(await inboxFetch(server, `/api/inbox/conversations/${turn.conversationId}`, { cookie }));
    expect(transcript).toMatchObject({ id: turn.conversationId, createdAt: expect.any(String), messages: [{ role: 'user', content: '<img src=x onerror=alert(1)>', status: 'complete' }, { id: turn.messageId, role: 'assistant', content: '**Bold** answer', status: 'complete', reply: { model: 'fast', upstreamModel: 'gpt-4.1-mini', finishReason: 'stop', inputTokens: 7, outputTokens: 3, firstTokenMs: expect.any(Number), durationMs: expect.any(Number) } }] });
    expect(transcript.handoff).toBeUndefined();
    expect(transcript.handoffs).toBeUndefined();
    expect((await inboxFetch(server, '/api/inbox/conversations/AAAAAAAAAAAAAAAAAAAAAAAA', { cookie })).status).toBe(404);
    expect((await inboxFetch(server, '/api/inbox/conversations/..%2F..%2Fetc', { cookie })).status).toBe(404);
  });

  it('deletes a conversation everywhere, logged with the user name', async () => {
    upstream.script({ kind: 'deltas', deltas: ['Gone soon.'] });
    const turn = await chat(server, { message: 'Forget this one' });
    const deleted = await inboxFetch(server, `/api/inbox/conversations/${turn.conversationId}`, { method: 'DELETE', cookie });
    expect(deleted.status).toBe(204);
    expect(await server.store.getConversation(turn.conversationId)).toBeUndefined();
    expect((await fetch(`${server.url}/api/conversations/${turn.conversationId}`)).status).toBe(404);
    const line = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'inbox conversation deleted');
    expect(line).toMatchObject({ user: 'alice', conversationId: turn.conversationId });
    expect((await inboxFetch(server, `/api/inbox/conversations/${turn.conversationId}`, { method: 'DELETE', cookie })).status).toBe(404);
  });

  it('exports what is filtered as JSONL and as CSV, logged with the user name', async () => {
    upstream.script({ kind: 'deltas', deltas: ['=HYPERLINK("http://evil.example","click")'] });
    const formula = await chat(server, { message: '=1+2', page: 'https://shop.example/sheet' });

    const jsonl = await inboxFetch(server, '/api/inbox/export?format=jsonl&page=shop.example', { cookie });
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get('content-type')).toBe('application/jsonl; charset=utf-8');
    expect(jsonl.headers.get('content-disposition')).toMatch(/^attachment; filename="chatdrop-conversations-\d{4}-\d{2}-\d{2}\.jsonl"$/);
    const lines = (await jsonl.text()).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((l) => l.page)).toEqual(['https://shop.example/sheet', 'https://shop.example/help/returns']);
    expect(lines[0].messages[0]).toMatchObject({ role: 'user', content: '=1+2' });
    expect(lines[1].messages[1]).toMatchObject({ role: 'assistant', rating: 'down', model: 'fast', finishReason: 'stop' });

    const csv = await inboxFetch(server, `/api/inbox/export?format=csv&page=${encodeURIComponent('/sheet')}`, { cookie });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const bytes = Buffer.from(await csv.arrayBuffer());
    // The UTF-8 byte order mark first, for spreadsheet apps.
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parseCsv(bytes.subarray(3).toString('utf8'));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(3);
    const content = CSV_COLUMNS.indexOf('content');
    // What a spreadsheet would run as a formula arrives as text.
    expect(rows[1]![content]).toBe("'=1+2");
    expect(rows[2]![content]).toBe('\'=HYPERLINK("http://evil.example","click")');
    // Ids are random base64url: one in 64 starts with "-", which the CSV defuses like any other cell.
    expect(rows[1]![CSV_COLUMNS.indexOf('conversation_id')]).toBe(csvCell(formula.conversationId).slice(1, -1));

    const logged = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'inbox export ended');
    expect(logged.at(-1)).toMatchObject({ user: 'alice', format: 'csv', conversations: 1, complete: true });
    expect((await inboxFetch(server, '/api/inbox/export?format=xlsx', { cookie })).status).toBe(400);
  });

  it('shows daily figures with the tokens used against the daily budget, and no knowledge status without knowledge', async () => {
    const figures = await json(await inboxFetch(server, '/api/inbox/figures?days=7', { cookie }));
    expect(figures.days).toHaveLength(7);
    const today = figures.days.at(-1);
    expect(today.day).toBe(new Date().toISOString().slice(0, 10));
    expect(today).toMatchObject({ conversations: expect.any(Number), down: 1, failed: 1 });
    expect(today.conversations).toBeGreaterThanOrEqual(4);
    expect(today.tokens).toBeGreaterThan(0);
    expect(figures.budget).toEqual({ limit: 100000, usedToday: expect.any(Number) });
    expect(figures.budget.usedToday).toBeGreaterThan(0);
    expect(figures.knowledge).toBeUndefined();
    expect(today.uncovered).toBe(0);
    for (const days of ['0', '91', 'x']) expect((await inboxFetch(server, `/api/inbox/figures?days=${days}`, { cookie })).status).toBe(400);
  });
});

describe('the inbox export', () => {
  it('streams page by page, held back by a reader that does not read: never all 300 at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatdrop-export-'));
    const store = new SqliteStore({ path: join(dir, 'db') });
    // 100 KB each, 30 MB in all: more than the socket buffers between server and reader hold.
    const long = 'lorem ipsum '.repeat(8_500);
    for (let i = 0; i < 300; i++) {
      const id = await store.createConversation();
      await store.appendMessage(id, { role: 'user', content: `question ${i} ${long}`, status: 'complete' });
    }
    let transcriptsRead = 0;
    const counting = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'getTranscript') return (id: string) => ((transcriptsRead++), target.getTranscript(id));
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const server = await startInboxServer({ upstream, store: counting });
    try {
      const cookie = await signIn(server);
      const response = await inboxFetch(server, '/api/inbox/export?format=jsonl', { cookie });
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      // The server reads a page of 100, then writes only as fast as the reader takes: with
      // about 10 MB of buffers in between, it cannot be near the end.
      expect(transcriptsRead).toBeLessThanOrEqual(250);
      let text = new TextDecoder().decode(first.value);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text.trimEnd().split('\n')).toHaveLength(300);
      expect(transcriptsRead).toBe(300);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CSV cells', () => {
  it('quote text, double quotes, and defuse what spreadsheets run as formulas', () => {
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(42)).toBe('42');
    expect(csvCell('plain')).toBe('"plain"');
    expect(csvCell('say "hi", ok\r\nnext')).toBe('"say ""hi"", ok\r\nnext"');
    for (const start of ['=', '+', '-', '@', '\t', '\r', '\n', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20']) {
      expect(csvCell(`${start}cmd|' /C calc'!A0`)).toBe(`"'${start}cmd|' /C calc'!A0"`);
    }
    expect(csvCell('a=b')).toBe('"a=b"');
  });
});
