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
  // 4 -> 5: what the support inbox lists, searches and counts. A conversation keeps a summary
  // (kept right by triggers, whichever write path changes a message or a rating), the page it
  // started on, and `num`, its place in creation order; a finished reply keeps what it came to.
  // Existing rows are brought in: summaries counted, every message put in the search index.
  `
  ALTER TABLE conversations ADD COLUMN num INTEGER;
  ALTER TABLE conversations ADD COLUMN page TEXT;
  ALTER TABLE conversations ADD COLUMN first_question TEXT;
  ALTER TABLE conversations ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE conversations ADD COLUMN up_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE conversations ADD COLUMN down_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE conversations ADD COLUMN incomplete_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE conversations ADD COLUMN failed_count INTEGER NOT NULL DEFAULT 0;
  -- Search rows handed out so far; a message's search rowid is num * 2^24 + this count.
  ALTER TABLE conversations ADD COLUMN indexed_count INTEGER NOT NULL DEFAULT 0;

  ALTER TABLE messages ADD COLUMN model TEXT;
  ALTER TABLE messages ADD COLUMN upstream_model TEXT;
  ALTER TABLE messages ADD COLUMN finish_reason TEXT;
  ALTER TABLE messages ADD COLUMN error_code TEXT;
  ALTER TABLE messages ADD COLUMN first_token_ms INTEGER;
  ALTER TABLE messages ADD COLUMN duration_ms INTEGER;
  ALTER TABLE messages ADD COLUMN input_tokens INTEGER;
  ALTER TABLE messages ADD COLUMN output_tokens INTEGER;
  ALTER TABLE messages ADD COLUMN search_rowid INTEGER;

  UPDATE conversations SET num = r.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM conversations) AS r
    WHERE r.id = conversations.id;
  CREATE UNIQUE INDEX conversations_num ON conversations (num);
  -- The listing, newest first; one partial index per common filter, so "rated down this week"
  -- walks only the conversations that have a down rating.
  CREATE INDEX conversations_created ON conversations (created_at, id);
  CREATE INDEX conversations_down ON conversations (created_at, id) WHERE down_count > 0;
  CREATE INDEX conversations_up ON conversations (created_at, id) WHERE up_count > 0;
  CREATE INDEX conversations_incomplete ON conversations (created_at, id) WHERE incomplete_count > 0;
  CREATE INDEX conversations_failed ON conversations (created_at, id) WHERE failed_count > 0;
  -- The same flags by number, for a search that checks each hit's conversation (index only).
  CREATE INDEX conversations_down_num ON conversations (num) WHERE down_count > 0;
  CREATE INDEX conversations_up_num ON conversations (num) WHERE up_count > 0;
  CREATE INDEX conversations_incomplete_num ON conversations (num) WHERE incomplete_count > 0;
  CREATE INDEX conversations_failed_num ON conversations (num) WHERE failed_count > 0;
  -- The daily figures.
  CREATE INDEX messages_created ON messages (created_at);

  UPDATE conversations SET
    message_count = (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id),
    first_question = (SELECT substr(m.content, 1, 280) FROM messages m
                      WHERE m.conversation_id = conversations.id AND m.role = 'user' ORDER BY m.seq LIMIT 1),
    incomplete_count = (SELECT count(*) FROM messages m
                        WHERE m.conversation_id = conversations.id AND m.role = 'assistant' AND m.status = 'incomplete'),
    up_count = (SELECT count(*) FROM feedback f JOIN messages m ON m.id = f.message_id
                WHERE m.conversation_id = conversations.id AND f.rating = 'up'),
    down_count = (SELECT count(*) FROM feedback f JOIN messages m ON m.id = f.message_id
                  WHERE m.conversation_id = conversations.id AND f.rating = 'down');

  -- Full-text search over every message's words. Contentless (the text is in messages already)
  -- with contentless_delete, so a row goes by its rowid alone. The rowid puts a conversation's
  -- messages together in creation order, so a search reads newest conversations first and stops
  -- after a page. Written once per message, once it is final (a visitor's at once, a reply when
  -- it ends), in batches off the chat's path.
  CREATE VIRTUAL TABLE messages_search USING fts5(
    content, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
  );
  UPDATE messages SET search_rowid = r.rowid_
    FROM (SELECT m.seq, c.num * 16777216 + row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.seq) AS rowid_
          FROM messages m JOIN conversations c ON c.id = m.conversation_id) AS r
    WHERE r.seq = messages.seq;
  INSERT INTO messages_search (rowid, content) SELECT search_rowid, content FROM messages;
  UPDATE conversations SET indexed_count =
    (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id);
  -- What waits for the search index: a few rows at a time, written in batches (sqlite-inbox.ts).
  CREATE INDEX messages_unindexed ON messages (seq) WHERE search_rowid IS NULL;

  -- A new conversation takes the next number (the unique index makes max() a lookup).
  CREATE TRIGGER conversations_number AFTER INSERT ON conversations WHEN new.num IS NULL BEGIN
    UPDATE conversations SET num = (SELECT coalesce(max(num), 0) + 1 FROM conversations) WHERE id = new.id;
  END;
  CREATE TRIGGER messages_summary_insert AFTER INSERT ON messages BEGIN
    UPDATE conversations SET
      message_count = message_count + 1,
      incomplete_count = incomplete_count + (new.role = 'assistant' AND new.status = 'incomplete'),
      first_question = coalesce(first_question, CASE WHEN new.role = 'user' THEN substr(new.content, 1, 280) END)
    WHERE id = new.conversation_id;
  END;
  -- Streamed writes set the same status again; the WHEN keeps them from touching the summary.
  CREATE TRIGGER messages_summary_status AFTER UPDATE OF status ON messages
  WHEN new.role = 'assistant' AND old.status <> new.status BEGIN
    UPDATE conversations SET incomplete_count = incomplete_count + (new.status = 'incomplete') - (old.status = 'incomplete')
    WHERE id = new.conversation_id;
  END;
  CREATE TRIGGER messages_summary_failed AFTER UPDATE OF finish_reason ON messages
  WHEN (old.finish_reason IS 'error') <> (new.finish_reason IS 'error') BEGIN
    UPDATE conversations SET failed_count = failed_count + (new.finish_reason IS 'error') - (old.finish_reason IS 'error')
    WHERE id = new.conversation_id;
  END;
  CREATE TRIGGER messages_search_replaced AFTER UPDATE OF search_rowid ON messages
  WHEN old.search_rowid IS NOT NULL AND old.search_rowid IS NOT new.search_rowid BEGIN
    DELETE FROM messages_search WHERE rowid = old.search_rowid;
  END;
  -- BEFORE, so the message's rating is still there to take off: the rating's own delete, cascaded
  -- from this one, runs when the message is gone and cannot tell whose summary to change. Also
  -- runs for the rows a conversation's delete cascades to (a retention sweep, a deletion).
  CREATE TRIGGER messages_summary_delete BEFORE DELETE ON messages BEGIN
    UPDATE conversations SET
      message_count = message_count - 1,
      incomplete_count = incomplete_count - (old.role = 'assistant' AND old.status = 'incomplete'),
      failed_count = failed_count - (old.finish_reason IS 'error'),
      up_count = up_count - (SELECT count(*) FROM feedback WHERE message_id = old.id AND rating = 'up'),
      down_count = down_count - (SELECT count(*) FROM feedback WHERE message_id = old.id AND rating = 'down')
    WHERE id = old.conversation_id;
    DELETE FROM messages_search WHERE rowid = old.search_rowid;
  END;
  CREATE TRIGGER feedback_summary_insert AFTER INSERT ON feedback BEGIN
    UPDATE conversations SET up_count = up_count + (new.rating = 'up'), down_count = down_count + (new.rating = 'down')
    WHERE id = (SELECT conversation_id FROM messages WHERE id = new.message_id);
  END;
  CREATE TRIGGER feedback_summary_update AFTER UPDATE OF rating ON feedback WHEN old.rating <> new.rating BEGIN
    UPDATE conversations SET
      up_count = up_count + (new.rating = 'up') - (old.rating = 'up'),
      down_count = down_count + (new.rating = 'down') - (old.rating = 'down')
    WHERE id = (SELECT conversation_id FROM messages WHERE id = new.message_id);
  END;
  -- A rating deleted by itself (its message's delete has counted it already, see above).
  CREATE TRIGGER feedback_summary_delete AFTER DELETE ON feedback BEGIN
    UPDATE conversations SET up_count = up_count - (old.rating = 'up'), down_count = down_count - (old.rating = 'down')
    WHERE id = (SELECT conversation_id FROM messages WHERE id = old.message_id);
  END;
  `,
  // 5 -> 6: support inbox sign-ins, by the SHA-256 of the session id; gone once expired.
  `
  CREATE TABLE inbox_sessions (
    id_hash      TEXT PRIMARY KEY,
    user         TEXT NOT NULL,
    credential   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX inbox_sessions_expires ON inbox_sessions (expires_at);
  `,
  // 6 -> 7: each hand-off knows when its conversation was created, so the support inbox's hand-off
  // filter walks the conversations that have one in the listing's own order (newest conversation
  // first), a page at a time. Existing rows take it from their conversation (or, gone, their own time).
  `
  ALTER TABLE handoffs ADD COLUMN conversation_created_at INTEGER;
  UPDATE handoffs SET conversation_created_at =
    coalesce((SELECT c.created_at FROM conversations c WHERE c.id = handoffs.conversation_id), created_at);
  CREATE INDEX handoffs_by_conversation_created ON handoffs (conversation_created_at, conversation_id);
  `,
  // 7 -> 8: each message's token count (o200k), kept so a turn does not count its whole history
  // again; NULL: not known (rows written before, a reply cut mid-way).
  `
  ALTER TABLE messages ADD COLUMN tokens INTEGER;
  `,
  // 8 -> 9: a knowledge page keeps the URLs that redirected to it (JSON array), so a refresh that
  // asks such a URL again knows which stored page it stands for.
  `
  ALTER TABLE knowledge_pages ADD COLUMN redirected_from TEXT NOT NULL DEFAULT '[]';
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to `SCHEMA_VERSION`, each step in its own transaction together with the
 * version bump, so a crash mid-migration leaves the file at the previous version, not half-built.
 * Refuses a file from a newer server rather than guessing at a schema it does not know.
 */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `Conversation database ${db.name} has schema version ${current}, newer than this server's ` +
        `${SCHEMA_VERSION}. Upgrade the server or point CHATDROP_DB at another file.`,
    );
  }
  // `target` below the latest: tests build a file as an older server left it.
  for (let version = current; version < target; version++) {
    const step = MIGRATIONS[version] as string;
    db.transaction(() => {
      db.exec(step);
      // PRAGMA does not take bound parameters; `version` is our own integer.
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
