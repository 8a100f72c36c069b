import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { openSqlite } from '../store/open-sqlite.js';
import { newId } from '../store/new-id.js';
import {
  fingerprintOf,
  type AddResult,
  type AddRules,
  type ChannelName,
  type Claim,
  type DeliveryState,
  type DeliveryStatus,
  type Handoff,
  type HandoffConversation,
  type HandoffOutbox,
  type HandoffSummary,
  type NewHandoff,
} from './handoff-outbox.js';

interface HandoffRow {
  id: string;
  conversation_id: string;
  email: string;
  note: string | null;
  page: string | null;
  transcript: string;
  created_at: number;
}

interface DeliveryRow {
  handoff_id: string;
  channel: ChannelName;
  state: DeliveryState;
  attempts: number;
  due_at: number;
  last_error: string | null;
  updated_at: number;
}

/**
 * The outbox in the SQLite file the conversations live in (`CHATDROP_DB`), on its own connection:
 * WAL lets it write while the store reads, and a second process on the same file (a restart
 * overlapping the old one) sees the same leases. Every check-then-write is one IMMEDIATE
 * transaction, which takes the file's write lock before reading, so two processes cannot both
 * claim one delivery.
 */
export class SqliteOutbox implements HandoffOutbox {
  readonly #db: Database.Database;
  readonly #sql;
  readonly #tx;

  constructor(options: { path: string }) {
    const db = openSqlite(options.path);
    this.#db = db;
    const sql = {
      duplicate: db
        .prepare<[string, string, number], string>(
          'SELECT id FROM handoffs WHERE conversation_id = ? AND fingerprint = ? AND created_at >= ? ORDER BY created_at DESC LIMIT 1',
        )
        .pluck(),
      recent: db
        .prepare<[string, number], number>('SELECT created_at FROM handoffs WHERE conversation_id = ? AND created_at > ? ORDER BY created_at')
        .pluck(),
      insertHandoff: db.prepare<[string, string, number, string, string | null, string | null, string, string, number]>(
        `INSERT INTO handoffs (id, conversation_id, conversation_created_at, email, note, page, transcript, fingerprint, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertDelivery: db.prepare<[string, ChannelName, number, number]>(
        `INSERT INTO handoff_deliveries (handoff_id, channel, state, attempts, due_at, updated_at)
         VALUES (?, ?, 'pending', 0, ?, ?)`,
      ),
      due: db
        .prepare<[ChannelName, number, number], string>(
          `SELECT handoff_id FROM handoff_deliveries
           WHERE channel = ? AND state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?`,
        )
        .pluck(),
      lease: db.prepare<[number, string, number, string, ChannelName]>(
        `UPDATE handoff_deliveries SET attempts = attempts + 1, due_at = ?, lease_token = ?, updated_at = ?
         WHERE handoff_id = ? AND channel = ?`,
      ),
      attempts: db
        .prepare<[string, ChannelName], number>('SELECT attempts FROM handoff_deliveries WHERE handoff_id = ? AND channel = ?')
        .pluck(),
      handoff: db.prepare<[string], HandoffRow>(
        'SELECT id, conversation_id, email, note, page, transcript, created_at FROM handoffs WHERE id = ?',
      ),
      // Each settles only under its own lease token.
      complete: db.prepare<[number, string, ChannelName, string]>(
        `UPDATE handoff_deliveries SET state = 'delivered', lease_token = NULL, updated_at = ?
         WHERE handoff_id = ? AND channel = ? AND lease_token = ?`,
      ),
      retry: db.prepare<[number, string, number, string, ChannelName, string]>(
        `UPDATE handoff_deliveries SET due_at = ?, last_error = ?, lease_token = NULL, updated_at = ?
         WHERE handoff_id = ? AND channel = ? AND lease_token = ?`,
      ),
      fail: db.prepare<[string, number, string, ChannelName, string]>(
        `UPDATE handoff_deliveries SET state = 'failed', last_error = ?, lease_token = NULL, updated_at = ?
         WHERE handoff_id = ? AND channel = ? AND lease_token = ?`,
      ),
      release: db.prepare<[number, number, string, ChannelName, string]>(
        `UPDATE handoff_deliveries SET attempts = attempts - 1, due_at = ?, lease_token = NULL, updated_at = ?
         WHERE handoff_id = ? AND channel = ? AND lease_token = ?`,
      ),
      ofConversation: db.prepare<[string], Omit<HandoffRow, 'transcript'>>(
        `SELECT id, conversation_id, email, note, page, created_at FROM handoffs
         WHERE conversation_id = ? ORDER BY created_at, rowid`,
      ),
      newest: db.prepare<[number, number], Omit<HandoffRow, 'transcript'>>(
        `SELECT id, conversation_id, email, note, page, created_at FROM handoffs
         WHERE created_at < ? ORDER BY created_at DESC, rowid DESC LIMIT ?`,
      ),
      deliveriesOf: db.prepare<[string], DeliveryRow>(
        `SELECT handoff_id, channel, state, attempts, due_at, last_error, updated_at FROM handoff_deliveries
         WHERE handoff_id = ? ORDER BY channel DESC`,
      ),
      deleteBefore: db.prepare<[number]>('DELETE FROM handoffs WHERE created_at < ?'),
      // A page of the (conversation_created_at, conversation_id) index, read backwards; a
      // conversation's several hand-offs sit together there and count once.
      newestConversations: db.prepare<[number], HandoffConversation>(
        `SELECT DISTINCT conversation_created_at AS createdAt, conversation_id AS id FROM handoffs
         ORDER BY conversation_created_at DESC, conversation_id DESC LIMIT ?`,
      ),
      conversationsBefore: db.prepare<[number, string, number], HandoffConversation>(
        `SELECT DISTINCT conversation_created_at AS createdAt, conversation_id AS id FROM handoffs
         WHERE (conversation_created_at, conversation_id) < (?, ?)
         ORDER BY conversation_created_at DESC, conversation_id DESC LIMIT ?`,
      ),
      deleteOfConversation: db.prepare<[string]>('DELETE FROM handoffs WHERE conversation_id = ?'),
    };
    this.#sql = sql;
    this.#tx = {
      add: db.transaction((handoff: NewHandoff, rules: AddRules): AddResult => {
        const fingerprint = fingerprintOf(handoff);
        const same = sql.duplicate.get(handoff.conversationId, fingerprint, rules.now - rules.duplicateWindowMs);
        if (same !== undefined) return { outcome: 'duplicate', id: same };
        const recent = sql.recent.all(handoff.conversationId, rules.now - rules.windowMs);
        if (recent.length >= rules.perConversation) {
          return { outcome: 'limited', retryAfterMs: Math.max(1, (recent[0] as number) + rules.windowMs - rules.now) };
        }
        const id = newId();
        sql.insertHandoff.run(
          id, handoff.conversationId, handoff.conversationCreatedAt, handoff.email, handoff.note, handoff.page,
          JSON.stringify(handoff.transcript), fingerprint, rules.now,
        );
        for (const channel of handoff.channels) sql.insertDelivery.run(id, channel, rules.now, rules.now);
        return { outcome: 'stored', id };
      }),
      claim: db.transaction((channel: ChannelName, now: number, leaseMs: number, limit: number): Claim[] => {
        const claims: Claim[] = [];
        for (const id of sql.due.all(channel, now, limit)) {
          const token = randomUUID();
          sql.lease.run(now + leaseMs, token, now, id, channel);
          const row = sql.handoff.get(id);
          if (row !== undefined) claims.push({ handoff: toHandoff(row), channel, attempt: sql.attempts.get(id, channel) ?? 1, token });
        }
        return claims;
      }),
    };
  }

  async add(handoff: NewHandoff, rules: AddRules): Promise<AddResult> {
    return this.#tx.add.immediate(handoff, rules);
  }

  async claim(channel: ChannelName, now: number, leaseMs: number, limit: number): Promise<Claim[]> {
    return this.#tx.claim.immediate(channel, now, leaseMs, limit);
  }

  async complete(claim: Claim, now: number): Promise<boolean> {
    return this.#sql.complete.run(now, claim.handoff.id, claim.channel, claim.token).changes > 0;
  }

  async retry(claim: Claim, at: number, error: string, now: number): Promise<boolean> {
    return this.#sql.retry.run(at, error, now, claim.handoff.id, claim.channel, claim.token).changes > 0;
  }

  async fail(claim: Claim, error: string, now: number): Promise<boolean> {
    return this.#sql.fail.run(error, now, claim.handoff.id, claim.channel, claim.token).changes > 0;
  }

  async release(claim: Claim, now: number): Promise<boolean> {
    return this.#sql.release.run(now, now, claim.handoff.id, claim.channel, claim.token).changes > 0;
  }

  async nextDue(channels: readonly ChannelName[]): Promise<number | undefined> {
    if (channels.length === 0) return undefined;
    const marks = channels.map(() => '?').join(', ');
    // Built from the count only; the values are bound.
    const due = this.#db
      .prepare<ChannelName[], number | null>(
        `SELECT MIN(due_at) FROM handoff_deliveries WHERE state = 'pending' AND channel IN (${marks})`,
      )
      .pluck()
      .get(...channels);
    return due ?? undefined;
  }

  async handoffsFor(conversationIds: readonly string[]): Promise<Map<string, HandoffSummary[]>> {
    const out = new Map<string, HandoffSummary[]>();
    for (const conversationId of new Set(conversationIds)) {
      const rows = this.#sql.ofConversation.all(conversationId);
      if (rows.length === 0) continue;
      out.set(conversationId, rows.map((row) => this.#summary(row)));
    }
    return out;
  }

  async recentHandoffs(limit: number, beforeMs = Number.MAX_SAFE_INTEGER): Promise<HandoffSummary[]> {
    return this.#sql.newest.all(beforeMs, limit).map((row) => this.#summary(row));
  }

  #summary(row: Omit<HandoffRow, 'transcript'>): HandoffSummary {
    return {
      id: row.id,
      conversationId: row.conversation_id,
      email: row.email,
      note: row.note,
      page: row.page,
      createdAt: new Date(row.created_at).toISOString(),
      deliveries: this.#sql.deliveriesOf.all(row.id).map(toStatus),
    };
  }

  async conversationsWithHandoffs(page: { limit: number; before?: HandoffConversation }): Promise<HandoffConversation[]> {
    const { before, limit } = page;
    return before === undefined ? this.#sql.newestConversations.all(limit) : this.#sql.conversationsBefore.all(before.createdAt, before.id, limit);
  }

  async deleteForConversation(conversationId: string): Promise<number> {
    // Deliveries go with their hand-off (ON DELETE CASCADE), a lease held on one too: its
    // holder's settling UPDATE then matches no row.
    return this.#sql.deleteOfConversation.run(conversationId).changes;
  }

  async deleteCreatedBefore(cutoffMs: number): Promise<number> {
    // Deliveries go with their hand-off (ON DELETE CASCADE).
    return this.#sql.deleteBefore.run(cutoffMs).changes;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function toHandoff(row: HandoffRow): Handoff {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    email: row.email,
    note: row.note,
    page: row.page,
    transcript: JSON.parse(row.transcript) as Handoff['transcript'],
    createdAt: new Date(row.created_at).toISOString(),
  };
}

function toStatus(row: DeliveryRow): DeliveryStatus {
  return {
    channel: row.channel,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: row.state === 'pending' ? new Date(row.due_at).toISOString() : null,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
