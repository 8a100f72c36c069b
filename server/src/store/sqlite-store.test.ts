import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { conversationStoreSuite } from './conversation-store.suite.js';
import { migrate, SCHEMA_VERSION } from './sqlite-migrations.js';
import { SqliteStore } from './sqlite-store.js';

const folders: string[] = [];
function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'chatdrop-sqlite-'));
  folders.push(folder);
  return folder;
}
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

conversationStoreSuite('SqliteStore on a real file', async ({ now }) => {
  const folder = tempFolder();
  const path = join(folder, 'chatdrop.db');
  return {
    store: new SqliteStore({ path, now }),
    reopen: async () => new SqliteStore({ path, now }),
    cleanup: async () => rmSync(folder, { recursive: true, force: true }),
  };
});

function tablesOf(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      // The knowledge index's tables share the file (knowledge/sqlite-knowledge-store.test.ts covers
      // them), and FTS5's own shadow tables (messages_search_data, ...) are not ours to list.
      .prepare<[], string>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'knowledge_%' AND name NOT GLOB 'messages_search_*' ORDER BY name",
      )
      .pluck()
      .all();
  } finally {
    db.close();
  }
}

function userVersion(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('SqliteStore', () => {
  it('creates the folder of the database file on first start', async () => {
    const path = join(tempFolder(), 'data', 'nested', 'chatdrop.db');
    const store = new SqliteStore({ path });
    const id = await store.createConversation();
    await store.close();
    expect(existsSync(path)).toBe(true);
    const again = new SqliteStore({ path });
    expect(await again.getConversation(id)).toEqual({ id, messages: [] });
    await again.close();
  });

  it('migrates an empty file to the current schema', async () => {
    const path = join(tempFolder(), 'empty.db');
    writeFileSync(path, '');
    const store = new SqliteStore({ path });
    await store.close();
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
    expect(tablesOf(path)).toEqual(['conversations', 'feedback', 'handoff_deliveries', 'handoffs', 'inbox_sessions', 'messages', 'messages_search']);
  });

  it('migrates an existing database at version 0 and leaves what else is in it alone', async () => {
    const path = join(tempFolder(), 'old.db');
    const old = new Database(path);
    old.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me');");
    old.close();
    expect(userVersion(path)).toBe(0);

    const store = new SqliteStore({ path });
    const id = await store.createConversation();
    expect(await store.appendMessage(id, { role: 'user', content: 'hi', status: 'complete' })).toBeDefined();
    await store.close();

    expect(userVersion(path)).toBe(SCHEMA_VERSION);
    expect(tablesOf(path)).toEqual(['conversations', 'feedback', 'handoff_deliveries', 'handoffs', 'inbox_sessions', 'messages', 'messages_search', 'notes']);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT text FROM notes').pluck().get()).toBe('keep me');
    db.close();
  });

  it('opens a file it already migrated without migrating again', async () => {
    const path = join(tempFolder(), 'twice.db');
    const first = new SqliteStore({ path });
    const id = await first.createConversation();
    await first.close();
    const second = new SqliteStore({ path });
    expect(await second.getConversation(id)).toEqual({ id, messages: [] });
    await second.close();
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
  });

  it('refuses a database written by a newer server with a clear error', () => {
    const path = join(tempFolder(), 'future.db');
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new SqliteStore({ path })).toThrow(/schema version .*newer than this server/);
  });

  it('runs in WAL mode, so a reader sees a reply while another connection streams it', async () => {
    const path = join(tempFolder(), 'wal.db');
    const writer = new SqliteStore({ path });
    const reader = new SqliteStore({ path });
    const id = await writer.createConversation();
    const reply = await writer.appendMessage(id, { role: 'assistant', content: '', status: 'incomplete' });
    if (!reply) throw new Error('append failed');
    await writer.updateMessage(id, reply.id, { content: 'Half an ans', status: 'incomplete' });
    expect((await reader.getConversation(id))?.messages[0]).toMatchObject({ content: 'Half an ans', status: 'incomplete' });

    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    expect(existsSync(`${path}-wal`)).toBe(true);
    await writer.close();
    await reader.close();
  });

  it('removes the rows of a deleted conversation, not just the conversation', async () => {
    const path = join(tempFolder(), 'cascade.db');
    const store = new SqliteStore({ path });
    const id = await store.createConversation();
    const kept = await store.createConversation();
    await store.appendMessage(id, { role: 'user', content: 'private', status: 'complete' });
    const answer = await store.appendMessage(id, { role: 'assistant', content: 'noted', status: 'complete' });
    await store.appendMessage(kept, { role: 'user', content: 'other', status: 'complete' });
    await store.setFeedback(id, answer!.id, 'up');
    await store.deleteConversation(id);
    await store.close();

    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT content FROM messages').pluck().all()).toEqual(['other']);
    expect(db.prepare('SELECT count(*) FROM feedback').pluck().get()).toBe(0);
    db.close();
  });
});

describe('SqliteStore for the support inbox', () => {
  it('indexes each message once it is final, in batches off the write path, and a streaming reply only when it ends', async () => {
    const path = join(tempFolder(), 'search.db');
    const store = new SqliteStore({ path, indexEveryMs: 60_000 });
    const id = await store.createConversation();
    await store.appendMessage(id, { role: 'user', content: 'hello', status: 'complete' });
    const reply = await store.appendMessage(id, { role: 'assistant', content: '', status: 'incomplete' });
    const rows = () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare('SELECT count(*) FROM messages_search').pluck().get();
      } finally {
        db.close();
      }
    };
    for (const text of ['Zebras', 'Zebras are', 'Zebras are striped']) {
      await store.updateMessage(id, reply!.id, { content: text, status: 'incomplete' });
    }
    // Nothing was written to the index by the chat's own writes.
    expect(rows()).toBe(0);
    // A search puts in what is final first: the visitor's message, not the reply still streaming.
    expect((await store.listConversations({ limit: 5, text: 'zebras' })).conversations).toEqual([]);
    expect((await store.listConversations({ limit: 5, text: 'hello' })).conversations.map((c) => c.id)).toEqual([id]);
    expect(rows()).toBe(1);
    const meta = { model: 'fast', upstreamModel: 'm', finishReason: 'stop', durationMs: 5, inputTokens: 1, outputTokens: 2 } as const;
    await store.updateMessage(id, reply!.id, { content: 'Zebras are striped.', status: 'complete', meta });
    expect((await store.listConversations({ limit: 5, text: 'zebras striped' })).conversations.map((c) => c.id)).toEqual([id]);
    expect(rows()).toBe(2);
    // Written again (it should not be, but a second final write must not leave two rows).
    await store.updateMessage(id, reply!.id, { content: 'Lions.', status: 'complete', meta });
    expect((await store.listConversations({ limit: 5, text: 'zebras' })).conversations).toEqual([]);
    expect((await store.listConversations({ limit: 5, text: 'lions' })).conversations).toHaveLength(1);
    expect(rows()).toBe(2);
    await store.deleteConversation(id);
    expect(rows()).toBe(0);
    await store.close();
  });

  it('indexes waiting messages on its own, without a search', async () => {
    const path = join(tempFolder(), 'rounds.db');
    const store = new SqliteStore({ path, indexEveryMs: 20 });
    const id = await store.createConversation();
    await store.appendMessage(id, { role: 'user', content: 'indexed by a round', status: 'complete' });
    const db = new Database(path, { readonly: true });
    try {
      await expect.poll(() => db.prepare('SELECT count(*) FROM messages_search').pluck().get(), { timeout: 10_000 }).toBe(1);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('brings conversations written before the inbox into its listing, search and summaries', async () => {
    const path = join(tempFolder(), 'v1.db');
    const old = new Database(path);
    migrate(old, 1);
    const insert = old.prepare('INSERT INTO messages (id, conversation_id, role, content, status, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    old.prepare('INSERT INTO conversations (id, created_at, updated_at) VALUES (?, ?, ?)').run('A'.repeat(24), 1_000, 2_000);
    old.prepare('INSERT INTO conversations (id, created_at, updated_at) VALUES (?, ?, ?)').run('B'.repeat(24), 3_000, 4_000);
    insert.run('a'.repeat(24), 'A'.repeat(24), 'user', 'Old question about parcels', 'complete', 1_000);
    insert.run('b'.repeat(24), 'A'.repeat(24), 'assistant', 'Old answer', 'incomplete', 1_500);
    insert.run('c'.repeat(24), 'B'.repeat(24), 'user', 'Newer question', 'complete', 3_000);
    old.prepare("INSERT INTO feedback (message_id, rating, updated_at) VALUES (?, 'down', 1)").run('b'.repeat(24));
    old.close();

    const store = new SqliteStore({ path });
    const page = await store.listConversations({ limit: 10 });
    expect(page.conversations.map((c) => c.id)).toEqual(['B'.repeat(24), 'A'.repeat(24)]);
    expect(page.conversations[1]).toMatchObject({ firstQuestion: 'Old question about parcels', messages: 2, down: 1, incomplete: 1 });
    expect((await store.listConversations({ limit: 10, text: 'parcel' })).conversations.map((c) => c.id)).toEqual(['A'.repeat(24)]);
    // A new conversation is numbered after the old ones and found first.
    const fresh = await store.createConversation();
    await store.appendMessage(fresh, { role: 'user', content: 'question about parcels, again', status: 'complete' });
    expect((await store.listConversations({ limit: 10, text: 'parcels' })).conversations.map((c) => c.id)).toEqual([fresh, 'A'.repeat(24)]);
    await store.close();
  });
});
