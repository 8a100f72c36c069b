import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../store/redis-store.js';
import { inboxFetch, signIn, startInboxServer } from '../test/inbox-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import type { TestServer } from '../test/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../test/webhook-receiver.js';
import { csvCell } from './csv-cell.js';
import type { HandoffRecord } from './inbox-inputs.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

const DAY = 24 * 60 * 60 * 1000;

let upstream: MockUpstream;
let redisProcess: ChildProcess;
let redisUrl: string;
beforeAll(async () => {
  upstream = await startMockUpstream();
  const port = await freePort();
  redisProcess = await startRedis(port);
  redisUrl = `redis://127.0.0.1:${port}`;
});
afterAll(async () => {
  await upstream?.close();
  if (redisProcess) await stopRedis(redisProcess);
});

/** What each backend needs beyond the test server's own SQLite file. */
const backends: { name: string; open: () => Promise<{ store?: RedisStore; redis?: Redis; cleanup: () => Promise<void> }> }[] = [
  { name: 'SQLite', open: async () => ({ cleanup: async () => {} }) },
  {
    name: 'Redis',
    // Conversations, the outbox and everything else of one instance on one redis-server, as main.ts wires REDIS_URL.
    open: async () => {
      const redis = await connectTestClient(redisUrl);
      await redis.flushdb();
      return { store: await RedisStore.open({ url: redisUrl }), redis, cleanup: async () => redis.disconnect() };
    },
  },
];

/** One chat turn through the real chat API, started on `page`; answers the conversation id. */
async function chat(server: TestServer, message: string, page: string): Promise<string> {
  upstream.script({ kind: 'deltas', deltas: ['I could not find that ', 'in our help pages.'] });
  const { events } = await readEvents(await postChat(server.url, { message, page }));
  const start = events[0]?.event;
  if (start?.type !== 'message-start') throw new Error('no message-start');
  return start.conversationId;
}

describe.each(backends)('hand-offs in the support inbox, on $name', ({ open }) => {
  let server: TestServer;
  let hook: WebhookReceiver;
  let cookie: string;
  let cleanup: () => Promise<void>;
  /** The dispatcher's clock runs this far ahead of the server's: a day, to let a delivery fail for good at once. */
  let skew = 0;
  const ids: Record<'failed' | 'retrying' | 'delivered' | 'none', string> = { failed: '', retrying: '', delivered: '', none: '' };

  const get = async (path: string): Promise<any> => {
    const response = await inboxFetch(server, path, { cookie });
    expect(response.status, path).toBe(200);
    return response.json();
  };
  const handOff = async (conversationId: string, note: string): Promise<void> => {
    const response = await fetch(`${server.url}/api/handoff`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ conversationId, email: 'visitor@example.com', note }),
    });
    expect(response.status).toBe(202);
  };
  /** Until the receiver has had `n` requests and every attempt has been settled in the outbox. */
  const settled = async (n: number): Promise<void> => {
    await hook.waitForRequests(n);
    await server.handoff!.dispatcher.whenIdle();
  };

  beforeAll(async () => {
    const backend = await open();
    cleanup = backend.cleanup;
    // The first two attempts are refused with a 500; every later one is taken.
    hook = await startWebhookReceiver(['fail', 'fail']);
    server = await startInboxServer({
      upstream,
      ...(backend.store === undefined ? {} : { store: backend.store }),
      ...(backend.redis === undefined ? {} : { inbox: { redis: backend.redis } }),
      env: { CHATDROP_HANDOFF_WEBHOOK: hook.url, CHATDROP_RATE_LIMIT: '1000', CHATDROP_HANDOFF_RATE_LIMIT: '1000' },
      // A retry comes 10 minutes after a first failure (no jitter): long after this test has looked.
      handoffDispatcher: { baseDelayMs: 20 * 60_000, random: () => 0, now: () => Date.now() + skew },
    });
    cookie = await signIn(server);

    // A day on the dispatcher's clock: its first failure is its last.
    ids.failed = await chat(server, 'My invoice is wrong', 'https://help.example.com/billing?tab=invoices');
    skew = DAY;
    await handOff(ids.failed, 'Invoice 77');
    await settled(1);
    skew = 0;
    ids.retrying = await chat(server, 'I cannot sign in', 'https://help.example.com/account');
    await handOff(ids.retrying, 'Locked out');
    await settled(2);
    ids.delivered = await chat(server, 'Where is my order?', 'https://help.example.com/orders');
    await handOff(ids.delivered, 'Order 12');
    await settled(3);
    ids.none = await chat(server, 'Do you ship to Norway?', 'https://help.example.com/shipping');
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await hook?.close();
    await cleanup?.();
  });

  it('marks each conversation made through POST /api/handoff in the listing with its latest hand-off', async () => {
    const page = await get('/api/inbox/conversations');
    const byId = new Map<string, any>(page.conversations.map((c: { id: string }) => [c.id, c]));
    expect(byId.get(ids.failed).handoff).toEqual({ state: 'failed', at: expect.any(String), count: 1 });
    expect(byId.get(ids.retrying).handoff).toEqual({ state: 'pending', at: expect.any(String), count: 1 });
    expect(byId.get(ids.delivered).handoff).toEqual({ state: 'delivered', at: expect.any(String), count: 1 });
    expect(byId.get(ids.none).handoff).toBeUndefined();
    expect(await get('/api/inbox/session')).toMatchObject({ handoff: true });
  });

  it('narrows the listing to exactly the conversations with a hand-off, newest first, also with other filters', async () => {
    const page = await get('/api/inbox/conversations?handoff=1');
    expect(page.conversations.map((c: { id: string }) => c.id)).toEqual([ids.delivered, ids.retrying, ids.failed]);
    expect(page.next).toBeUndefined();
    expect((await get('/api/inbox/conversations?handoff=1&page=account')).conversations.map((c: { id: string }) => c.id)).toEqual([ids.retrying]);
    expect((await get('/api/inbox/conversations?handoff=1&q=invoice')).conversations.map((c: { id: string }) => c.id)).toEqual([ids.failed]);
    const first = await get('/api/inbox/conversations?handoff=1&limit=2');
    expect(first.conversations.map((c: { id: string }) => c.id)).toEqual([ids.delivered, ids.retrying]);
    const rest = await get(`/api/inbox/conversations?handoff=1&limit=2&cursor=${encodeURIComponent(first.next)}`);
    expect(rest.conversations.map((c: { id: string }) => c.id)).toEqual([ids.failed]);
  });

  it('shows each hand-off in the conversation with its delivery: state, attempts, the problem in plain words, the next attempt', async () => {
    const failed = await get(`/api/inbox/conversations/${ids.failed}`);
    expect(failed.page).toBe('https://help.example.com/billing');
    expect(failed.handoff).toMatchObject({ state: 'failed', count: 1 });
    expect(failed.handoffs).toEqual([
      {
        id: expect.any(String),
        at: expect.any(String),
        email: 'visitor@example.com',
        note: 'Invoice 77',
        deliveries: [
          {
            channel: 'webhook',
            state: 'failed',
            attempts: 1,
            problem: "The webhook's server had a problem (HTTP 500).",
            detail: 'HTTP 500: receiver is down',
            nextAttemptAt: null,
            updatedAt: expect.any(String),
          },
        ],
      },
    ] satisfies HandoffRecord[]);

    const retrying = (await get(`/api/inbox/conversations/${ids.retrying}`)).handoffs as HandoffRecord[];
    const delivery = retrying[0]!.deliveries[0]!;
    expect(delivery).toMatchObject({ channel: 'webhook', state: 'pending', attempts: 1, problem: "The webhook's server had a problem (HTTP 500).", detail: 'HTTP 500: receiver is down' });
    // 10 minutes after the failure.
    expect(Date.parse(delivery.nextAttemptAt!) - Date.parse(delivery.updatedAt)).toBe(10 * 60_000);

    const delivered = (await get(`/api/inbox/conversations/${ids.delivered}`)).handoffs as HandoffRecord[];
    expect(delivered[0]!.deliveries).toEqual([{ channel: 'webhook', state: 'delivered', attempts: 1, problem: null, detail: null, nextAttemptAt: null, updatedAt: expect.any(String) }]);
    // What the webhook got is what the inbox shows: the same hand-off id.
    expect(hook.accepted().map((r) => r.headers['idempotency-key'])).toEqual([delivered[0]!.id]);

    const none = await get(`/api/inbox/conversations/${ids.none}`);
    expect(none.handoffs).toEqual([]);
    expect(none.handoff).toBeUndefined();
  });

  it('exports the hand-offs with their deliveries (JSONL) and the mark (CSV)', async () => {
    const jsonl = await inboxFetch(server, '/api/inbox/export?format=jsonl&handoff=1', { cookie });
    const lines = (await jsonl.text()).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((l) => [l.id, l.handoff.state, l.handoffs[0].deliveries[0].state])).toEqual([
      [ids.delivered, 'delivered', 'delivered'],
      [ids.retrying, 'pending', 'pending'],
      [ids.failed, 'failed', 'failed'],
    ]);
    const csv = await (await inboxFetch(server, '/api/inbox/export?format=csv&page=billing', { cookie })).text();
    // Ids are random base64url: one in 64 starts with "-", which the CSV defuses like any other cell.
    expect(csv).toContain(`${csvCell(ids.failed)},`);
    expect(csv.split('\r\n')[1]).toMatch(/^"[^"]+","[^"]+","https:\/\/help\.example\.com\/billing","failed",/);
  });

  it('deletes a conversation with its hand-offs: the pending delivery is cancelled and the filter forgets it', async () => {
    const outbox = server.handoff!.outbox;
    expect(await outbox.nextDue(['webhook'])).toBeGreaterThan(Date.now());
    const response = await inboxFetch(server, `/api/inbox/conversations/${ids.retrying}`, { method: 'DELETE', cookie });
    expect(response.status).toBe(204);
    expect(await outbox.handoffsFor([ids.retrying])).toEqual(new Map());
    expect((await outbox.conversationsWithHandoffs({ limit: 100 })).map((c) => c.id)).not.toContain(ids.retrying);
    // Its retry was the only delivery left to make: nothing is due any more, nothing will be sent.
    expect(await outbox.nextDue(['webhook'])).toBeUndefined();
    expect((await get('/api/inbox/conversations?handoff=1')).conversations.map((c: { id: string }) => c.id)).toEqual([ids.delivered, ids.failed]);
    expect((await inboxFetch(server, `/api/inbox/conversations/${ids.retrying}`, { cookie })).status).toBe(404);
    // The other conversations keep theirs.
    expect([...(await outbox.handoffsFor([ids.failed, ids.delivered])).keys()].sort()).toEqual([ids.failed, ids.delivered].sort());
  });
});
