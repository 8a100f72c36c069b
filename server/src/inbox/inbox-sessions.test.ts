import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite-store.js';
import { InboxSessions, SESSION_ABSOLUTE_MS, SESSION_IDLE_MS } from './inbox-sessions.js';

const MINUTE = 60_000;

describe('inbox sessions', () => {
  let dir: string;
  let now: number;
  let store: SqliteStore;
  let users: Map<string, string>;
  let sessions: InboxSessions;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chatdrop-sessions-'));
    now = Date.UTC(2030, 0, 1);
    store = new SqliteStore({ path: join(dir, 'db'), now: () => now });
    users = new Map([['alice', 'first password']]);
    sessions = new InboxSessions({ store, now: () => now, credentialOf: (name) => users.get(name) });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands out 256-bit random ids and keeps only their hash in the store', async () => {
    const id = await sessions.start('alice');
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sessions.start('alice')).not.toBe(id);
    expect(await store.getSession(id)).toBeUndefined();
    expect(await sessions.find(id)).toBe('alice');
    expect(await sessions.find(`${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(await sessions.find(undefined)).toBeUndefined();
  });

  it('ends after the idle lifetime without a request, and lives on while used', async () => {
    const id = await sessions.start('alice');
    now += SESSION_IDLE_MS - MINUTE;
    expect(await sessions.find(id)).toBe('alice');
    now += SESSION_IDLE_MS - MINUTE;
    expect(await sessions.find(id)).toBe('alice');
    now += SESSION_IDLE_MS + 1;
    expect(await sessions.find(id)).toBeUndefined();
  });

  it('ends at the absolute lifetime however busy', async () => {
    const id = await sessions.start('alice');
    const start = now;
    for (let t = 30 * MINUTE; t < SESSION_ABSOLUTE_MS; t += 30 * MINUTE) {
      now = start + t;
      expect(await sessions.find(id)).toBe('alice');
    }
    now = start + SESSION_ABSOLUTE_MS;
    expect(await sessions.find(id)).toBeUndefined();
  });

  it('ends on sign-out, when the user is taken out of CHATDROP_INBOX_USERS, and when their password changes', async () => {
    const a = await sessions.start('alice');
    const b = await sessions.start('alice');
    await sessions.end(a);
    expect(await sessions.find(a)).toBeUndefined();
    expect(await sessions.find(b)).toBe('alice');
    users.delete('alice');
    expect(await sessions.find(b)).toBeUndefined();
    users.set('alice', 'first password');
    expect(await sessions.find(b)).toBeUndefined();
    const c = await sessions.start('alice');
    expect(await sessions.find(c)).toBe('alice');
    users.set('alice', 'a new password');
    expect(await sessions.find(c)).toBeUndefined();
  });
});
