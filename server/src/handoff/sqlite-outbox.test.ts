import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite-store.js';
import { handoffOutboxSuite } from './handoff-outbox.suite.js';
import { SqliteOutbox } from './sqlite-outbox.js';

handoffOutboxSuite('SqliteOutbox on a real SQLite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatdrop-outbox-'));
  const path = join(dir, 'chatdrop.db');
  return {
    outbox: new SqliteOutbox({ path }),
    // A second connection, as a restarted server (or a second process) on the same file has.
    another: async () => new SqliteOutbox({ path }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteOutbox', () => {
  it('shares the conversation file with the store, whichever opens it first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatdrop-outbox-'));
    const path = join(dir, 'chatdrop.db');
    try {
      const outbox = new SqliteOutbox({ path });
      const store = new SqliteStore({ path });
      const id = await store.createConversation();
      const added = await outbox.add(
        { conversationId: id, conversationCreatedAt: 1, email: 'a@example.com', note: null, page: null, transcript: [], channels: ['email'] },
        { now: 1, duplicateWindowMs: 1, perConversation: 1, windowMs: 1 },
      );
      expect(added.outcome).toBe('stored');
      // Deleting the conversation leaves the hand-off to be delivered: it is a snapshot.
      expect(await store.deleteConversation(id)).toBe(true);
      expect((await outbox.handoffsFor([id])).get(id)).toHaveLength(1);
      await store.close();
      await outbox.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
