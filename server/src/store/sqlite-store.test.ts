import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { conversationStoreSuite } from './conversation-store.suite.js';
import { SCHEMA_VERSION } from './sqlite-migrations.js';
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
      // The knowledge index's tables share the file; knowledge/sqlite-knowledge-store.test.ts covers them.
      .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'knowledge_%' ORDER BY name")
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
    expect(tablesOf(path)).toEqual(['conversations', 'feedback', 'handoff_deliveries', 'handoffs', 'messages']);
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
    expect(tablesOf(path)).toEqual(['conversations', 'feedback', 'handoff_deliveries', 'handoffs', 'messages', 'notes']);
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
