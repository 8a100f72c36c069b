import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { newId } from '../store/new-id.js';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import { redisFailure } from '../store/redis-failure.js';
import {
  CHANNELS,
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
import { ADD_HANDOFF, CLAIM_DELIVERY, DELETE_HANDOFF, SETTLE_DELIVERY } from './redis-outbox-scripts.js';

export interface RedisOutboxOptions {
  /** The instance's command connection (`AppOptions.redis`); not owned, not closed here. */
  redis: Redis;
  /** How long a hand-off is kept (its keys' TTL): the conversations' retention. */
  retentionMs: number;
  /** Prefix of every key; the store's own (`chatdrop:`) unless a test shares one Redis. */
  keyPrefix?: string;
}

interface Scripts {
  chatdropHandoffAdd(...keysAndArgs: (string | number)[]): Promise<[string, string]>;
  chatdropHandoffClaim(...keysAndArgs: (string | number)[]): Promise<number>;
  chatdropHandoffSettle(...keysAndArgs: (string | number)[]): Promise<number>;
  chatdropHandoffDelete(...keysAndArgs: (string | number)[]): Promise<number>;
}

/** What `doc` holds: the hand-off as stored, minus what has its own field. */
type Doc = Omit<Handoff, 'id' | 'createdAt'>;

const SWEEP_BATCH = 200;

/**
 * The outbox shared by every instance through Redis (see redis-outbox-scripts.ts for the keys).
 * The lease is the delivery's score in its channel's due set: claiming moves it to the lease's
 * end, in one script with the check that it was due, so two instances never both take it.
 * While Redis is away every call fails at once with `StoreUnavailableError`; the dispatcher tries
 * again on its next round, and the route answers 503.
 */
export class RedisOutbox implements HandoffOutbox {
  readonly #redis: Redis;
  readonly #scripts: Scripts;
  readonly #ttl: number;
  readonly #prefix: string;
  #indexed: Promise<void> | undefined;

  constructor(options: RedisOutboxOptions) {
    this.#redis = options.redis;
    this.#ttl = options.retentionMs;
    this.#prefix = options.keyPrefix ?? 'chatdrop:';
    // Names unique to this module: the connection is shared with other features.
    this.#redis.defineCommand('chatdropHandoffAdd', { lua: ADD_HANDOFF });
    this.#redis.defineCommand('chatdropHandoffClaim', { lua: CLAIM_DELIVERY, numberOfKeys: 2 });
    this.#redis.defineCommand('chatdropHandoffSettle', { lua: SETTLE_DELIVERY, numberOfKeys: 2 });
    this.#redis.defineCommand('chatdropHandoffDelete', { lua: DELETE_HANDOFF });
    this.#scripts = this.#redis as unknown as Scripts;
  }

  async add(handoff: NewHandoff, rules: AddRules): Promise<AddResult> {
    const id = newId();
    const doc: Doc = {
      conversationId: handoff.conversationId,
      email: handoff.email,
      note: handoff.note,
      page: handoff.page,
      transcript: handoff.transcript,
    };
    const keys = [...this.#conversationKeys(id, handoff.conversationId), ...handoff.channels.map((ch) => this.#dueKey(ch))];
    const [outcome, value] = await this.#call(() =>
      this.#scripts.chatdropHandoffAdd(
        keys.length, ...keys,
        id, rules.now, this.#ttl, rules.windowMs, rules.duplicateWindowMs, rules.perConversation,
        fingerprintOf(handoff), handoff.conversationId, JSON.stringify(doc), handoff.conversationCreatedAt, ...handoff.channels,
      ),
    );
    if (outcome === 'limited') return { outcome, retryAfterMs: Number(value) };
    return { outcome: outcome === 'duplicate' ? 'duplicate' : 'stored', id: value };
  }

  async claim(channel: ChannelName, now: number, leaseMs: number, limit: number): Promise<Claim[]> {
    const due = this.#dueKey(channel);
    const candidates = await this.#call(() => this.#redis.zrangebyscore(due, '-inf', now, 'LIMIT', 0, limit));
    const claims: Claim[] = [];
    for (const id of candidates) {
      const token = randomUUID();
      // Another instance may have taken it between the listing and here: the script re-checks.
      const attempt = await this.#call(() => this.#scripts.chatdropHandoffClaim(this.#handoffKey(id), due, id, channel, now, now + leaseMs, token));
      if (attempt === 0) continue;
      const [doc, createdAt] = await this.#call(() => this.#redis.hmget(this.#handoffKey(id), 'doc', 'createdAt'));
      if (typeof doc !== 'string' || typeof createdAt !== 'string') continue; // expired under us: nothing left to deliver
      claims.push({ handoff: { id, ...(JSON.parse(doc) as Doc), createdAt: iso(createdAt) }, channel, attempt, token });
    }
    return claims;
  }

  complete(claim: Claim, now: number): Promise<boolean> {
    return this.#settle(claim, 'delivered', now, now, '');
  }

  retry(claim: Claim, at: number, error: string, now: number): Promise<boolean> {
    return this.#settle(claim, 'retry', now, at, error);
  }

  fail(claim: Claim, error: string, now: number): Promise<boolean> {
    return this.#settle(claim, 'failed', now, now, error);
  }

  release(claim: Claim, now: number): Promise<boolean> {
    return this.#settle(claim, 'release', now, now, '');
  }

  async nextDue(channels: readonly ChannelName[]): Promise<number | undefined> {
    let earliest: number | undefined;
    for (const channel of channels) {
      const [, score] = await this.#call(() => this.#redis.zrangebyscore(this.#dueKey(channel), '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, 1));
      if (score !== undefined && (earliest === undefined || Number(score) < earliest)) earliest = Number(score);
    }
    return earliest;
  }

  async handoffsFor(conversationIds: readonly string[]): Promise<Map<string, HandoffSummary[]>> {
    const out = new Map<string, HandoffSummary[]>();
    const conversations = [...new Set(conversationIds)];
    if (conversations.length === 0) return out;
    // Two round trips for a page of conversations: their hand-off ids, then those hand-offs.
    const pipeline = this.#redis.pipeline();
    for (const conversationId of conversations) pipeline.zrange(this.#key('handoffs-of', conversationId), 0, '-1');
    const replies = (await this.#call(() => pipeline.exec())) ?? [];
    const idsOf = conversations.map((_, i) => {
      const [error, ids] = replies[i] ?? [new Error('no reply'), undefined];
      if (error) throw new StoreUnavailableError('Redis read failed', { cause: error });
      return ids as string[];
    });
    const summaries = new Map((await this.#summaries(idsOf.flat())).map((summary) => [summary.id, summary]));
    conversations.forEach((conversationId, i) => {
      const found = (idsOf[i] ?? []).flatMap((id) => summaries.get(id) ?? []);
      if (found.length > 0) out.set(conversationId, found);
    });
    return out;
  }

  async conversationsWithHandoffs(page: { limit: number; before?: HandoffConversation }): Promise<HandoffConversation[]> {
    await this.#ensureConversationIndex();
    const found: HandoffConversation[] = [];
    let before = page.before;
    while (found.length < page.limit) {
      const want = page.limit - found.length;
      const batch = await this.#conversationsBefore(before, want);
      if (batch.length === 0) break;
      // A conversation whose hand-offs have all expired (their keys' TTL) before the sweep could
      // tell which conversation they belonged to leaves the indexes here.
      const pipeline = this.#redis.pipeline();
      for (const conversation of batch) pipeline.exists(this.#key('handoffs-of', conversation.id));
      const replies = (await this.#call(() => pipeline.exec())) ?? [];
      const gone: string[] = [];
      batch.forEach((conversation, i) => {
        const [error, exists] = replies[i] ?? [new Error('no reply'), 0];
        if (error) throw new StoreUnavailableError('Redis read failed', { cause: error });
        if (exists === 1) found.push(conversation);
        else gone.push(conversation.id);
      });
      if (gone.length > 0) await this.#forgetConversations(gone);
      before = batch.at(-1);
      if (batch.length < want) break;
    }
    return found;
  }

  /**
   * Up to `limit` entries of handoff-conversations strictly after `before` in (time, id)
   * descending order: first its ties (same time, smaller id; ZREVRANGEBYSCORE gives equal times
   * by id descending, as SQLite orders them), then everything older.
   */
  async #conversationsBefore(before: HandoffConversation | undefined, limit: number): Promise<HandoffConversation[]> {
    const index = this.#key('handoff-conversations');
    const entries: HandoffConversation[] = [];
    let max = '+inf';
    if (before !== undefined) {
      const ties = await this.#call(() => this.#redis.zrevrangebyscore(index, before.createdAt, before.createdAt));
      for (const id of ties) if (id < before.id && entries.length < limit) entries.push({ id, createdAt: before.createdAt });
      max = `(${before.createdAt}`;
    }
    if (entries.length < limit) {
      const flat = await this.#call(() => this.#redis.zrevrangebyscore(index, max, '-inf', 'WITHSCORES', 'LIMIT', 0, limit - entries.length));
      for (let i = 0; i < flat.length; i += 2) entries.push({ id: flat[i] as string, createdAt: Number(flat[i + 1]) });
    }
    return entries;
  }

  async #forgetConversations(conversationIds: string[]): Promise<void> {
    await this.#call(() =>
      this.#redis
        .multi()
        .zrem(this.#key('handoff-conversations'), ...conversationIds)
        .zrem(this.#key('handoff-conversations-latest'), ...conversationIds)
        .exec(),
    );
  }

  async deleteForConversation(conversationId: string): Promise<number> {
    let deleted = 0;
    // Until none is left: a hand-off stored while this runs goes too.
    for (;;) {
      const ids = await this.#call(() => this.#redis.zrange(this.#key('handoffs-of', conversationId), 0, String(SWEEP_BATCH - 1)));
      if (ids.length === 0) return deleted;
      for (const id of ids) {
        const keys = [...this.#conversationKeys(id, conversationId), ...CHANNELS.map((ch) => this.#dueKey(ch))];
        deleted += await this.#call(() => this.#scripts.chatdropHandoffDelete(keys.length, ...keys, id, conversationId));
      }
    }
  }

  async recentHandoffs(limit: number, beforeMs?: number): Promise<HandoffSummary[]> {
    const max = beforeMs === undefined ? '+inf' : `(${beforeMs}`;
    const ids = await this.#call(() => this.#redis.zrevrangebyscore(this.#key('handoffs-by-time'), max, '-inf', 'LIMIT', 0, limit));
    return this.#summaries(ids);
  }

  /** The summaries of these hand-offs, in the given order; expired ones are left out. */
  async #summaries(ids: string[]): Promise<HandoffSummary[]> {
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.#handoffKey(id));
    const replies = (await this.#call(() => pipeline.exec())) ?? [];
    const summaries: HandoffSummary[] = [];
    ids.forEach((id, i) => {
      const [error, fields] = replies[i] ?? [new Error('no reply'), undefined];
      if (error) throw new StoreUnavailableError('Redis read failed', { cause: error });
      const hash = fields as Record<string, string>;
      if (hash.doc === undefined) return; // expired
      const doc = JSON.parse(hash.doc) as Doc;
      summaries.push({
        id,
        conversationId: doc.conversationId,
        email: doc.email,
        note: doc.note,
        page: doc.page,
        createdAt: iso(hash.createdAt ?? '0'),
        deliveries: CHANNELS.flatMap((channel) => deliveryOf(hash, channel)),
      });
    });
    return summaries;
  }

  async deleteCreatedBefore(cutoffMs: number): Promise<number> {
    const index = this.#key('handoffs-by-time');
    let deleted = 0;
    for (;;) {
      // Exclusive upper bound, as in the SQLite outbox.
      const ids = await this.#call(() => this.#redis.zrangebyscore(index, '-inf', `(${cutoffMs}`, 'LIMIT', 0, SWEEP_BATCH));
      if (ids.length === 0) {
        // A conversation whose latest hand-off is older than the cutoff has none left. (Its
        // hand-offs' keys may have expired before this sweep came, so the delete script could not
        // tell which conversation they belonged to.)
        for (;;) {
          const stale = await this.#call(() =>
            this.#redis.zrangebyscore(this.#key('handoff-conversations-latest'), '-inf', `(${cutoffMs}`, 'LIMIT', 0, SWEEP_BATCH),
          );
          if (stale.length === 0) return deleted;
          await this.#forgetConversations(stale);
        }
      }
      for (const id of ids) {
        const conversationId = (await this.#call(() => this.#redis.hget(this.#handoffKey(id), 'conversationId'))) ?? '';
        const keys = [...this.#conversationKeys(id, conversationId), ...CHANNELS.map((ch) => this.#dueKey(ch))];
        deleted += await this.#call(() => this.#scripts.chatdropHandoffDelete(keys.length, ...keys, id, conversationId));
      }
    }
  }

  async close(): Promise<void> {
    // The connection belongs to main.ts (or the test), which closes it.
  }

  async #settle(claim: Claim, mode: 'delivered' | 'retry' | 'failed' | 'release', now: number, at: number, error: string): Promise<boolean> {
    const id = claim.handoff.id;
    const settled = await this.#call(() =>
      this.#scripts.chatdropHandoffSettle(this.#handoffKey(id), this.#dueKey(claim.channel), id, claim.channel, claim.token, mode, now, at, error),
    );
    return settled === 1;
  }

  /** handoff:<id>, handoffs-of, handoff-prints, handoffs-by-time and the two conversation indexes: the first six keys of add and delete. */
  #conversationKeys(id: string, conversationId: string): string[] {
    return [
      this.#handoffKey(id),
      this.#key('handoffs-of', conversationId),
      this.#key('handoff-prints', conversationId),
      this.#key('handoffs-by-time'),
      this.#key('handoff-conversations'),
      this.#key('handoff-conversations-latest'),
    ];
  }

  /**
   * Hand-offs stored before the conversation indexes existed are added to them once, from
   * handoffs-by-time. Those hand-offs do not know their conversation's creation time; the first
   * message of their transcript, written within milliseconds of it, stands in. A marker key makes
   * it once per Redis, not per instance start; `NX` and `GT` keep concurrent runs harmless.
   */
  #ensureConversationIndex(): Promise<void> {
    this.#indexed ??= this.#backfillConversations().catch((error: unknown) => {
      this.#indexed = undefined;
      throw error;
    });
    return this.#indexed;
  }

  async #backfillConversations(): Promise<void> {
    const marker = this.#key('handoff-conversations', 'complete');
    if ((await this.#call(() => this.#redis.exists(marker))) === 1) return;
    const index = this.#key('handoffs-by-time');
    for (let start = 0; ; start += SWEEP_BATCH) {
      const ids = await this.#call(() => this.#redis.zrange(index, String(start), String(start + SWEEP_BATCH - 1)));
      if (ids.length === 0) break;
      const pipeline = this.#redis.pipeline();
      for (const id of ids) pipeline.hmget(this.#handoffKey(id), 'conversationId', 'createdAt', 'doc');
      const replies = (await this.#call(() => pipeline.exec())) ?? [];
      const started: string[] = [];
      const latest: string[] = [];
      for (const [error, fields] of replies) {
        const [conversationId, createdAt, doc] = (error ? [] : fields) as (string | null)[];
        if (typeof conversationId !== 'string' || typeof createdAt !== 'string' || typeof doc !== 'string') continue;
        const first = Date.parse((JSON.parse(doc) as Doc).transcript[0]?.createdAt ?? '');
        started.push(String(Number.isNaN(first) ? Number(createdAt) : first), conversationId);
        latest.push(createdAt, conversationId);
      }
      if (started.length > 0) {
        await this.#call(() =>
          this.#redis
            .multi()
            .zadd(this.#key('handoff-conversations'), 'NX', ...started)
            .zadd(this.#key('handoff-conversations-latest'), 'GT', ...latest)
            .exec(),
        );
      }
    }
    await this.#call(() => this.#redis.set(marker, '1'));
  }

  #handoffKey(id: string): string {
    return this.#key('handoff', id);
  }

  #dueKey(channel: ChannelName): string {
    return this.#key('handoff-due', channel);
  }

  #key(...parts: string[]): string {
    return this.#prefix + parts.join(':');
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw redisFailure(error);
    }
  }
}

function deliveryOf(hash: Record<string, string>, channel: ChannelName): DeliveryStatus[] {
  const state = hash[`${channel}:state`] as DeliveryState | undefined;
  if (state === undefined) return [];
  return [
    {
      channel,
      state,
      attempts: Number(hash[`${channel}:attempts`] ?? 0),
      lastError: hash[`${channel}:error`] || null,
      nextAttemptAt: state === 'pending' ? iso(hash[`${channel}:due`] ?? '0') : null,
      updatedAt: iso(hash[`${channel}:updatedAt`] ?? '0'),
    },
  ];
}

function iso(epochMs: string): string {
  return new Date(Number(epochMs)).toISOString();
}
