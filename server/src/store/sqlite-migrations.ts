import type Database from 'better-sqlite3';

/**
 * The SQLite schema as a list of steps; step N takes a database from `user_version` N to N+1.
 * Steps are append-only: a file written by an older server is brought forward on open, and a
 * released step is never edited (add a new one instead).
 */
const MIGRATIONS: readonly string[] = [
  // 0 -> 1: conversations, their messages in append order, one rating per assistant message.
  `
  CREATE TABLE conversations (
    id         TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  -- Retention sweeps by last activity.
  CREATE INDEX conversations_updated_at ON conversations (updated_at);

  CREATE TABLE messages (
    -- The rowid gives the order of appends, so two messages in the same millisecond stay in order.
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('complete', 'incomplete')),
    created_at      INTEGER NOT NULL
  );
  CREATE INDEX messages_conversation_seq ON messages (conversation_id, seq);

  CREATE TABLE feedback (
    message_id TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    rating     TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 1 -> 2: hand-offs ("talk to a person"): each stored with its transcript before any delivery, and one
  // delivery row per channel, leased by the instance attempting it (server/src/handoff/).
  // Not tied to a conversation row: the transcript is a snapshot, delivered even if the
  // conversation is deleted meanwhile, and swept by its own age.
  `
  CREATE TABLE handoffs (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    email           TEXT NOT NULL,
    note            TEXT,
    page            TEXT,
    -- JSON array of { role, content, createdAt }, in conversation order.
    transcript      TEXT NOT NULL,
    -- Same visitor words and transcript: a repeat within minutes is the same hand-off.
    fingerprint     TEXT NOT NULL,
    created_at      INTEGER NOT NULL
  );
  CREATE INDEX handoffs_conversation ON handoffs (conversation_id, created_at);
  CREATE INDEX handoffs_created_at ON handoffs (created_at);

  CREATE TABLE handoff_deliveries (
    handoff_id  TEXT NOT NULL REFERENCES handoffs (id) ON DELETE CASCADE,
    channel     TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts    INTEGER NOT NULL,
    -- The next attempt; while an instance holds the lease, the lease's end.
    due_at      INTEGER NOT NULL,
    lease_token TEXT,
    last_error  TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (handoff_id, channel)
  ) WITHOUT ROWID;
  CREATE INDEX handoff_deliveries_due ON handoff_deliveries (channel, state, due_at);
  `,
  // 2 -> 3: the knowledge pages a reply was grounded in, as JSON [{title, url}]; NULL: none given.
  `
  ALTER TABLE messages ADD COLUMN sources TEXT;
  `,
  // 3 -> 4: the knowledge index (server/src/knowledge/sqlite-knowledge-store.ts).
  `
  CREATE TABLE knowledge_pages (
    url           TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    -- JSON array of the page's same-origin links, so a refresh answered 304 still crawls on.
    links         TEXT NOT NULL,
    hash          TEXT NOT NULL,
    indexed_at    INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE knowledge_passages (
    id        INTEGER PRIMARY KEY,
    url       TEXT NOT NULL REFERENCES knowledge_pages (url) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    heading   TEXT NOT NULL,
    text      TEXT NOT NULL,
    tokens    INTEGER NOT NULL,
    -- The search terms (tokenize.ts), space-separated: what the FTS5 table indexes.
    terms     TEXT NOT NULL,
    -- Float32 little-endian, when embeddings are on.
    embedding BLOB
  );
  CREATE INDEX knowledge_passages_url ON knowledge_passages (url, position);

  -- BM25 over the terms. Contentless (the terms are in knowledge_passages already), with deletes
  -- allowed (SQLite 3.43+), rowid = knowledge_passages.id.
  CREATE VIRTUAL TABLE knowledge_fts USING fts5 (terms, content = '', contentless_delete = 1, detail = none, tokenize = 'unicode61 remove_diacritics 0');
  -- Per-term document counts, for judging how much of a question a passage covers.
  CREATE VIRTUAL TABLE knowledge_vocab USING fts5vocab (knowledge_fts, 'row');

  CREATE TABLE knowledge_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 4 -> 5: each message's token count (o200k), kept so a turn does not count its whole history
  // again; NULL: not known (rows written before, a reply cut mid-way).
  `
  ALTER TABLE messages ADD COLUMN tokens INTEGER;
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to `SCHEMA_VERSION`, each step in its own transaction together with the
 * version bump, so a crash mid-migration leaves the file at the previous version, not half-built.
 * Refuses a file from a newer server rather than guessing at a schema it does not know.
 */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `Conversation database ${db.name} has schema version ${current}, newer than this server's ` +
        `${SCHEMA_VERSION}. Upgrade the server or point CHATDROP_DB at another file.`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    const step = MIGRATIONS[version] as string;
    db.transaction(() => {
      db.exec(step);
      // PRAGMA does not take bound parameters; `version` is our own integer.
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
