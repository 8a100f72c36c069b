import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxHandoffs } from '../handoff/inbox-handoffs.js';
import type { HandoffOutbox } from '../handoff/handoff-outbox.js';
import { RedisOutbox } from '../handoff/redis-outbox.js';
import { SqliteOutbox } from '../handoff/sqlite-outbox.js';
import type { ConversationStore } from '../store/conversation-store.js';
import type { InboxQuery } from '../store/inbox-query.js';
import { RedisStore } from '../store/redis-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { listHandedOff } from './handoff-listing.js';
import type { InboxHandoffs } from './inbox-inputs.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

/** More than the listing's 2,000 candidates a page, so a page can stop early. */
const CONVERSATIONS = 2_600;

let redisProcess: ChildProcess;
let redisUrl: string;
beforeAll(async () => {
  const port = await freePort();
  redisProcess = await startRedis(port);
  redisUrl = `redis://127.0.0.1:${port}`;
});
afterAll(async () => {
  if (redisProcess) await stopRedis(redisProcess);
});

interface Opened {
  store: ConversationStore;
  outbox: HandoffOutbox;
  close: () => Promise<void>;
}

const backends: { name: string; open: () => Promise<Opened> }[] = [
  {
    name: 'SQLite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'chatdrop-handoff-listing-'));
      const path = join(dir, 'chatdrop.db');
      const store = new SqliteStore({ path });
      const outbox = new SqliteOutbox({ path });
      return { store, outbox, close: async () => (await outbox.close(), await store.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  },
  {
    name: 'Redis',
    open: async () => {
      const keyPrefix = `test:${randomUUID()}:`;
      const redis: Redis = await connectTestClient(redisUrl);
      const store = await RedisStore.open({ url: redisUrl, keyPrefix });
      const outbox = new RedisOutbox({ redis, retentionMs: 24 * 60 * 60 * 1000, keyPrefix });
      return { store, outbox, close: async () => (await store.close(), redis.disconnect()) };
    },
  },
];

describe.each(backends)('the hand-off filter walking the outbox\'s index, on $name', ({ open }) => {
  let opened: Opened;
  let handoffs: InboxHandoffs;
  /** Every conversation with a hand-off, in the listing's order (newest first). */
  let expected: string[];
  let oldestDown: string;

  /** Every page of a query, following the cursors; how many pages it took. */
  const walk = async (query: Omit<InboxQuery, 'cursor'>): Promise<{ ids: string[]; pages: number; sizes: number[] }> => {
    const ids: string[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await listHandedOff(opened.store, handoffs, { ...query, ...(cursor === undefined ? {} : { cursor }) });
      ids.push(...page.conversations.map((c) => c.id));
      sizes.push(page.conversations.length);
      cursor = page.next;
    } while (cursor !== undefined);
    return { ids, pages: sizes.length, sizes };
  };

  beforeAll(async () => {
    opened = await open();
    const { store, outbox } = opened;
    handoffs = inboxHandoffs(outbox);
    const handedOff = new Set<string>();
    for (let i = 0; i < CONVERSATIONS; i++) {
      const id = await store.createConversation();
      // Every fifth mentions a refund; the oldest conversation is the only one rated down.
      await store.appendMessage(id, { role: 'user', content: `Question ${i}${i % 5 === 0 ? ' about my refund' : ''}`, status: 'complete' });
      const reply = await store.appendMessage(id, { role: 'assistant', content: `Answer ${i}`, status: 'complete' });
      if (i === 0) {
        await store.setFeedback(id, reply!.id, 'down');
        oldestDown = id;
      }
      // Most conversations were handed off, the oldest one too; some more than once.
      if (i % 10 === 3) continue;
      const transcript = (await store.getTranscript(id))!;
      for (let n = 0; n < (i % 7 === 0 ? 2 : 1); n++) {
        await outbox.add(
          { conversationId: id, conversationCreatedAt: Date.parse(transcript.createdAt), email: 'visitor@example.com', note: `note ${n}`, page: null, transcript: [], channels: ['webhook'] },
          { now: Date.now(), duplicateWindowMs: 1, perConversation: 5, windowMs: 1 },
        );
      }
      handedOff.add(id);
    }
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listConversations({ limit: 200, ...(cursor === undefined ? {} : { cursor }) });
      all.push(...page.conversations.map((c) => c.id));
      cursor = page.next;
    } while (cursor !== undefined);
    expect(all).toHaveLength(CONVERSATIONS);
    expected = all.filter((id) => handedOff.has(id));
  }, 120_000);

  afterAll(async () => {
    await opened?.close();
  });

  it('lists every conversation with a hand-off once, newest first, in full pages', async () => {
    const { ids, sizes } = await walk({ limit: 50 });
    expect(ids).toEqual(expected);
    expect(sizes.slice(0, -1).every((n) => n === 50)).toBe(true);
  });

  it('narrows by words too, with the listing\'s cursor', async () => {
    const { ids } = await walk({ limit: 7, text: 'refund' });
    // The same as the store's own search over all conversations, kept to those with a hand-off.
    const searched: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await opened.store.listConversations({ limit: 200, text: 'refund', ...(cursor === undefined ? {} : { cursor }) });
      searched.push(...page.conversations.map((c) => c.id));
      cursor = page.next;
    } while (cursor !== undefined);
    // The same conversations, in the listing's order: the search orders conversations created in
    // the same millisecond by number, the listing by id, so only the set is compared with it.
    const found = new Set(searched);
    expect(ids).toEqual(expected.filter((id) => found.has(id)));
    expect(ids.length).toBeGreaterThan(400);
  });

  it('stops a page that finds nothing after 2,000 candidates, with a cursor that finds the rest', async () => {
    const first = await listHandedOff(opened.store, handoffs, { limit: 50, rating: 'down' });
    expect(first.conversations).toEqual([]);
    expect(first.next).toMatch(/^\d+\.[A-Za-z0-9_-]{24}$/);
    const { ids } = await walk({ limit: 50, rating: 'down' });
    expect(ids).toEqual([oldestDown]);
  });

  it('answers nothing where nothing was handed off', async () => {
    expect((await walk({ limit: 50, text: 'zeppelin' })).ids).toEqual([]);
  });
});
