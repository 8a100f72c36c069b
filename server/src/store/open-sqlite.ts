import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './sqlite-migrations.js';

/** How long a write waits for another connection's (another instance's, a CLI's) to finish. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens the SQLite file (creating its folder) the way every store on it needs it, and brings its
 * schema up to date. Conversations, the hand-off outbox and the knowledge index share one file and
 * one set of migrations, each with a connection of its own.
 */
export function openSqlite(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // WAL lets readers (GET /api/conversations) run while a reply is being written.
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Off by default in SQLite; the delete cascade and the retention sweep rely on it.
    db.pragma('foreign_keys = ON');
    // With WAL, NORMAL is durable across application crashes (only a power cut can lose the
    // last commits), and it spares an fsync on every streamed chunk.
    db.pragma('synchronous = NORMAL');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
