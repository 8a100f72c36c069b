import type Database from 'better-sqlite3';
import { openSqlite } from './open-sqlite.js';
import { appendedMessage } from './appended-message.js';
import type { ChatRole, MessageStatus, Source } from '@chatdrop/shared';
import type {
  ConversationStore,
  MessagePatch,
  NewMessage,
  NewTurn,
  Rating,
  StartedTurn,
  StoredConversation,
  StoredMessage,
} from './conversation-store.js';
import type { DayFigures, InboxPage, InboxQuery, ReplyMeta, StoredSession, Transcript } from './inbox-query.js';
import { isWellFormedId, newId } from './new-id.js';
import { SEARCH_SPAN, SqliteInbox } from './sqlite-inbox.js';

export interface SqliteStoreOptions {
  /** The database file (`CHATDROP_DB`); its folder is created when missing. */
  path: string;
  /** Epoch milliseconds; injected by tests to drive retention. */
  now?: () => number;
  /** How often final messages waiting for the search index are indexed, in one batch (default 2 s). */
  indexEveryMs?: number;
}

interface MessageRow {
  id: string;
  role: ChatRole;
  content: string;
  status: MessageStatus;
  created_at: number;
  sources: string | null;
  tokens: number | null;
}

/**
 * The embedded default backend: one SQLite file through better-sqlite3 (issue 3).
 *
 * better-sqlite3 is synchronous, so every method does its work before its promise is returned:
 * appends made in one tick land in call order, and there is no interleaving to guard against.
 * The chat's lookups are by primary key only: the id is the credential that lets a browser read
 * a conversation. Only the support inbox lists and searches them (`sqlite-inbox.ts`).
 */
export class SqliteStore implements ConversationStore {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #sql;
  /**
   * The multi-statement operations as transaction functions, built once: `db.transaction(fn)`
   * builds four wrappers with their properties each time it is called (issue 7: a chat turn's
   * five writes took 80 µs of JavaScript with a wrapper per call, 58 µs with these).
   */
  readonly #tx;
  readonly #inbox: SqliteInbox;

  constructor(options: SqliteStoreOptions) {
    this.#now = options.now ?? Date.now;
    const db = openSqlite(options.path);
    this.#db = db;
    this.#sql = {
      insertConversation: db.prepare<[string, number, number]>(
        'INSERT INTO conversations (id, created_at, updated_at) VALUES (?, ?, ?)',
      ),
      conversationExists: db
        .prepare<[string], 1>('SELECT 1 FROM conversations WHERE id = ?')
        .pluck(),
      touchConversation: db.prepare<[number, string]>(
        'UPDATE conversations SET updated_at = ? WHERE id = ?',
      ),
      selectMessages: db.prepare<[string], MessageRow>(
        `SELECT id, role, content, status, created_at, sources, tokens FROM messages
         WHERE conversation_id = ? ORDER BY seq`,
      ),
      insertMessage: db.prepare<[string, string, ChatRole, string, MessageStatus, number, string | null, number | null]>(
        `INSERT INTO messages (id, conversation_id, role, content, status, created_at, sources, tokens)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateMessage: db.prepare<[string, MessageStatus, number | null, string, string]>(
        'UPDATE messages SET content = ?, status = ?, tokens = ? WHERE id = ? AND conversation_id = ?',
      ),
      keepTokens: db.prepare<[number, string, string]>(
        `UPDATE messages SET tokens = ? WHERE id = ? AND conversation_id = ? AND status = 'complete' AND tokens IS NULL`,
      ),
      messageRole: db
        .prepare<[string, string], ChatRole>(
          'SELECT role FROM messages WHERE id = ? AND conversation_id = ?',
        )
        .pluck(),
      upsertFeedback: db.prepare<[string, Rating, number]>(
        `INSERT INTO feedback (message_id, rating, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (message_id) DO UPDATE SET rating = excluded.rating, updated_at = excluded.updated_at`,
      ),
      selectFeedback: db
        .prepare<[string, string], Rating>(
          `SELECT f.rating FROM feedback f JOIN messages m ON m.id = f.message_id
           WHERE f.message_id = ? AND m.conversation_id = ?`,
        )
        .pluck(),
      // Its rating goes with it (ON DELETE CASCADE).
      deleteMessage: db.prepare<[string, string]>('DELETE FROM messages WHERE id = ? AND conversation_id = ?'),
      deleteConversation: db.prepare<[string]>('DELETE FROM conversations WHERE id = ?'),
      deleteIdle: db.prepare<[number]>('DELETE FROM conversations WHERE updated_at < ?'),
      // The inbox's part of a write: the page a conversation started on, a reply's metadata, and
      // the message's one row in the search index (see sqlite-migrations.ts, step 2).
      setPage: db.prepare<[string, string]>('UPDATE conversations SET page = ? WHERE id = ? AND page IS NULL'),
      // A finished reply waits for the search index with the new text (an earlier row goes by trigger).
      finishMessage: db.prepare<[string, MessageStatus, number | null, string, string, string, string | null, number | null, number, number, number, string, string]>(
        `UPDATE messages SET content = ?, status = ?, tokens = ?, model = ?, upstream_model = ?, finish_reason = ?, error_code = ?,
           first_token_ms = ?, duration_ms = ?, input_tokens = ?, output_tokens = ?, search_rowid = NULL
         WHERE id = ? AND conversation_id = ?`,
      ),
      putSession: db.prepare<[string, string, string, number, number, number]>(
        `INSERT OR REPLACE INTO inbox_sessions (id_hash, user, credential, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      getSession: db.prepare<[string, number], { user: string; credential: string; created_at: number; last_seen_at: number; expires_at: number }>(
        'SELECT user, credential, created_at, last_seen_at, expires_at FROM inbox_sessions WHERE id_hash = ? AND expires_at > ?',
      ),
      deleteSession: db.prepare<[string]>('DELETE FROM inbox_sessions WHERE id_hash = ?'),
      deleteExpiredSessions: db.prepare<[number]>('DELETE FROM inbox_sessions WHERE expires_at <= ?'),
    };

    const sql = this.#sql;
    const insert = (conversationId: string, id: string, message: NewMessage, now: number): void => {
      const sources = message.sources === undefined ? null : JSON.stringify(message.sources);
      sql.insertMessage.run(id, conversationId, message.role, message.content, message.status, now, sources, message.tokens ?? null);
      if (message.page !== undefined) sql.setPage.run(message.page, conversationId);
    };
    this.#tx = {
      // One read transaction, so a reply being written cannot show up half in one query and not the other.
      readConversation: db.transaction((id: string): StoredConversation | undefined => {
        if (sql.conversationExists.get(id) === undefined) return undefined;
        return { id, messages: sql.selectMessages.all(id).map(toStoredMessage) };
      }),
      appendMessage: db.transaction((conversationId: string, id: string, message: NewMessage, now: number): boolean => {
        if (sql.touchConversation.run(now, conversationId).changes === 0) return false;
        insert(conversationId, id, message, now);
        return true;
      }),
      // A chat turn's writes before its upstream call, one commit instead of three.
      appendTurn: db.transaction((turn: NewTurn, conversationId: string, isNew: boolean, ids: { question: string; reply: string }, now: number): boolean => {
        if (isNew) sql.insertConversation.run(conversationId, now, now);
        else if (sql.touchConversation.run(now, conversationId).changes === 0) return false;
        if (turn.replaces !== undefined) sql.deleteMessage.run(turn.replaces, conversationId);
        if (turn.question !== undefined) insert(conversationId, ids.question, turn.question, now);
        insert(conversationId, ids.reply, turn.reply, now);
        for (const { messageId, tokens } of turn.counts ?? []) sql.keepTokens.run(tokens, messageId, conversationId);
        return true;
      }),
      updateMessage: db.transaction((conversationId: string, messageId: string, patch: MessagePatch, now: number): boolean => {
        const { changes } = sql.updateMessage.run(patch.content, patch.status, patch.tokens ?? null, messageId, conversationId);
        if (changes === 0) return false;
        // A reply still streaming is activity: retention must not sweep a conversation in use.
        sql.touchConversation.run(now, conversationId);
        return true;
      }),
      finishMessage: db.transaction((conversationId: string, messageId: string, patch: MessagePatch, meta: ReplyMeta, now: number): boolean => {
        const { changes } = sql.finishMessage.run(
          patch.content, patch.status, patch.tokens ?? null, meta.model, meta.upstreamModel, meta.finishReason, meta.errorCode ?? null,
          meta.firstTokenMs ?? null, meta.durationMs, meta.inputTokens, meta.outputTokens, messageId, conversationId,
        );
        if (changes === 0) return false;
        sql.touchConversation.run(now, conversationId);
        return true;
      }),
      setFeedback: db.transaction((conversationId: string, messageId: string, rating: Rating, now: number): boolean => {
        // Only the assistant's answers can be rated, and only within their own conversation.
        if (sql.messageRole.get(messageId, conversationId) !== 'assistant') return false;
        sql.upsertFeedback.run(messageId, rating, now);
        sql.touchConversation.run(now, conversationId);
        return true;
      }),
    };
    this.#inbox = new SqliteInbox(db, (id) => this.#tx.readConversation(id), { now: this.#now, indexEveryMs: options.indexEveryMs });
  }

  async createConversation(): Promise<string> {
    const id = newId();
    const now = this.#now();
    this.#sql.insertConversation.run(id, now, now);
    return id;
  }

  async getConversation(id: string): Promise<StoredConversation | undefined> {
    if (!isWellFormedId(id)) return undefined;
    return this.#tx.readConversation(id);
  }

  async appendMessage(conversationId: string, message: NewMessage): Promise<StoredMessage | undefined> {
    if (!isWellFormedId(conversationId)) return undefined;
    const id = newId();
    const now = this.#now();
    if (!this.#tx.appendMessage(conversationId, id, message, now)) return undefined;
    return appendedMessage(id, message, now);
  }

  async appendTurn(turn: NewTurn): Promise<StartedTurn | undefined> {
    if (turn.conversationId !== undefined && !isWellFormedId(turn.conversationId)) return undefined;
    const conversationId = turn.conversationId ?? newId();
    const ids = { question: newId(), reply: newId() };
    const now = this.#now();
    // A malformed id to replace cannot name a stored message: nothing to delete.
    const replaces = turn.replaces !== undefined && isWellFormedId(turn.replaces) ? turn.replaces : undefined;
    if (!this.#tx.appendTurn({ ...turn, replaces }, conversationId, turn.conversationId === undefined, ids, now)) return undefined;
    return {
      conversationId,
      ...(turn.question === undefined ? {} : { question: appendedMessage(ids.question, turn.question, now) }),
      reply: appendedMessage(ids.reply, turn.reply, now),
    };
  }

  async updateMessage(conversationId: string, messageId: string, patch: MessagePatch): Promise<boolean> {
    if (!isWellFormedId(conversationId) || !isWellFormedId(messageId)) return false;
    if (patch.meta !== undefined) return this.#tx.finishMessage(conversationId, messageId, patch, patch.meta, this.#now());
    return this.#tx.updateMessage(conversationId, messageId, patch, this.#now());
  }

  async deleteMessage(conversationId: string, messageId: string): Promise<boolean> {
    if (!isWellFormedId(conversationId) || !isWellFormedId(messageId)) return false;
    const deleted = this.#sql.deleteMessage.run(messageId, conversationId).changes > 0;
    if (deleted) this.#sql.touchConversation.run(this.#now(), conversationId);
    return deleted;
  }

  async deleteConversation(id: string): Promise<boolean> {
    if (!isWellFormedId(id)) return false;
    return this.#sql.deleteConversation.run(id).changes > 0;
  }

  async setFeedback(conversationId: string, messageId: string, rating: Rating): Promise<boolean> {
    if (!isWellFormedId(conversationId) || !isWellFormedId(messageId)) return false;
    return this.#tx.setFeedback(conversationId, messageId, rating, this.#now());
  }

  async getFeedback(conversationId: string, messageId: string): Promise<Rating | undefined> {
    if (!isWellFormedId(conversationId) || !isWellFormedId(messageId)) return undefined;
    return this.#sql.selectFeedback.get(messageId, conversationId);
  }

  async deleteIdleSince(cutoffMs: number): Promise<number> {
    // Messages and feedback go with their conversation through ON DELETE CASCADE;
    // `changes` counts only the conversations themselves.
    return this.#sql.deleteIdle.run(cutoffMs).changes;
  }

  async listConversations(query: InboxQuery): Promise<InboxPage> {
    return this.#inbox.list(query);
  }

  async getTranscript(id: string): Promise<Transcript | undefined> {
    if (!isWellFormedId(id)) return undefined;
    return this.#inbox.transcript(id);
  }

  async dailyFigures(fromMs: number, toMs: number): Promise<DayFigures[]> {
    return this.#inbox.figures(fromMs, toMs);
  }

  async putSession(idHash: string, session: StoredSession): Promise<void> {
    // Expired sign-ins go whenever one is written: a handful of rows, by index.
    this.#sql.deleteExpiredSessions.run(this.#now());
    this.#sql.putSession.run(idHash, session.user, session.credential, session.createdAt, session.lastSeenAt, session.expiresAt);
  }

  async getSession(idHash: string): Promise<StoredSession | undefined> {
    const row = this.#sql.getSession.get(idHash, this.#now());
    return row && { user: row.user, credential: row.credential, createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at };
  }

  async deleteSession(idHash: string): Promise<void> {
    this.#sql.deleteSession.run(idHash);
  }

  async close(): Promise<void> {
    this.#inbox.stop();
    if (this.#db.open) this.#db.close();
  }
}

function toStoredMessage(row: MessageRow): StoredMessage {
  const message: StoredMessage = { id: row.id, role: row.role, content: row.content, status: row.status, createdAt: iso(row.created_at) };
  if (row.sources !== null) message.sources = JSON.parse(row.sources) as Source[];
  if (row.tokens !== null) message.tokens = row.tokens;
  return message;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
