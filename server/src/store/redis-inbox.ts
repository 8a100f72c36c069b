import type { Conversation } from '@chatdrop/shared';
import type { Redis } from 'ioredis';
import type { Rating } from './conversation-store.js';
import {
  DAY_MS,
  FIRST_QUESTION_CHARS,
  dayName,
  normalizeText,
  searchWords,
  type ConversationSummary,
  type DayFigures,
  type InboxPage,
  type InboxQuery,
  type ReplyMeta,
  type Transcript,
} from './inbox-query.js';
import { transcriptMessage } from './transcript-message.js';
import { StoreUnavailableError } from './store-unavailable-error.js';

export interface RedisInboxOptions {
  redis: Redis;
  /** The store's command wrapper: connects on first use, turns failures into StoreUnavailableError. */
  call: <T>(command: () => Promise<T>) => Promise<T>;
  /** A conversation's keys, in the order redis-scripts.ts documents. */
  keys: (id: string) => [string, string, string, string, string];
  /** Conversation ids by creation time (written by the create and delete scripts). */
  createdKey: string;
  /** Conversation ids by last activity (the retention's index). */
  activityKey: string;
  /** The store's own read, so a transcript carries every field the chat API's read has. */
  getConversation: (id: string) => Promise<Conversation | undefined>;
}

/** Conversations read per round trip while scanning. */
const BATCH = 100;
/**
 * Conversations one page may read before it answers with what it has (and a cursor to go on
 * from). Redis has no secondary index here: every filter and the search are checked on the
 * conversation itself, so a filter that almost nothing passes would otherwise read everything.
 */
const MAX_SCAN = 2_000;

/** One conversation as read for the listing: its hash, its message order, fields and ratings. */
interface Raw {
  id: string;
  score: number;
  conversation: Record<string, string>;
  order: string[];
  fields: Record<string, string>;
  ratings: Record<string, string>;
}

/**
 * The support inbox's reads on the Redis store. The time index is one sorted set of conversation
 * ids by creation time; a page walks it newest first and reads each conversation whole (one
 * pipelined round trip per 100), checking the filters and the search words on what it read.
 * Search is a scan, not an index: every word must start a word of some message, case and accents
 * ignored, as SQLite's FTS5 matches; a page stops after `MAX_SCAN` conversations. That is plenty
 * for a support team's weeks of conversations; a site with millions searches on SQLite.
 */
export class RedisInbox {
  readonly #o: RedisInboxOptions;
  #indexed: Promise<void> | undefined;

  constructor(options: RedisInboxOptions) {
    this.#o = options;
  }

  async list(query: InboxQuery): Promise<InboxPage> {
    if (query.ids !== undefined && query.ids.length === 0) return { conversations: [], next: undefined };
    await this.#ensureIndex();
    const words = query.text === undefined ? [] : searchWords(query.text);
    const found: ConversationSummary[] = [];
    let scanned = 0;
    let last: { score: number; id: string } | undefined;
    for await (const batch of this.#candidates(query)) {
      const raws = await this.#read(batch);
      for (const raw of raws) {
        scanned++;
        if (raw !== undefined && matches(raw, query, words)) {
          if (found.length === query.limit && last) return { conversations: found, next: `${last.score}.${last.id}` };
          found.push(summarize(raw));
          last = raw;
        }
      }
      const end = batch.at(-1);
      if (scanned >= MAX_SCAN && end) return { conversations: found, next: `${end.score}.${end.id}` };
    }
    return { conversations: found, next: undefined };
  }

  /**
   * The candidates newest first, in batches, from below the cursor and within the date range:
   * the given ids when the filter names them, the creation index otherwise. Equal scores go by
   * id, descending, as ZREVRANGE orders them and as the SQLite store does.
   */
  async *#candidates(query: InboxQuery): AsyncGenerator<{ id: string; score: number }[]> {
    const after = query.cursor === undefined ? undefined : /^(\d+)\.(.+)$/.exec(query.cursor);
    const cursor = after ? { score: Number(after[1]), id: after[2] as string } : undefined;
    const below = (entry: { id: string; score: number }) =>
      cursor === undefined || entry.score < cursor.score || (entry.score === cursor.score && entry.id < cursor.id);
    const inRange = (score: number) => (query.from === undefined || score >= query.from) && (query.to === undefined || score < query.to);

    if (query.ids !== undefined) {
      const ids = [...new Set(query.ids)];
      const scores = await this.#o.call(() => this.#o.redis.zmscore(this.#o.createdKey, ...ids));
      const entries = ids
        .map((id, i) => ({ id, score: scores[i] === null || scores[i] === undefined ? NaN : Number(scores[i]) }))
        .filter((entry) => !Number.isNaN(entry.score) && inRange(entry.score) && below(entry))
        .sort(newestFirst);
      for (let i = 0; i < entries.length; i += BATCH) yield entries.slice(i, i + BATCH);
      return;
    }

    const min = query.from === undefined ? '-inf' : String(query.from);
    let max = query.to === undefined ? '+inf' : `(${query.to}`;
    if (cursor !== undefined) {
      // Ties with the cursor's time first (few, if any), then everything strictly older.
      if (inRange(cursor.score)) {
        const ties = await this.#o.call(() =>
          this.#o.redis.zrevrangebyscore(this.#o.createdKey, cursor.score, cursor.score),
        );
        const rest = ties.filter((id) => id < cursor.id).map((id) => ({ id, score: cursor.score }));
        if (rest.length > 0) yield rest;
      }
      if (query.to === undefined || cursor.score < query.to) max = `(${cursor.score}`;
    }
    for (;;) {
      const flat = await this.#o.call(() =>
        this.#o.redis.zrevrangebyscore(this.#o.createdKey, max, min, 'WITHSCORES', 'LIMIT', 0, BATCH),
      );
      if (flat.length === 0) return;
      const batch: { id: string; score: number }[] = [];
      for (let i = 0; i < flat.length; i += 2) batch.push({ id: flat[i] as string, score: Number(flat[i + 1]) });
      const lastScore = (batch.at(-1) as { score: number }).score;
      // The batch may end inside a run of equal times: take that whole run now, so the next
      // batch can start strictly below it.
      if (flat.length === 2 * BATCH) {
        const ties = await this.#o.call(() => this.#o.redis.zrevrangebyscore(this.#o.createdKey, lastScore, lastScore));
        const have = new Set(batch.map((entry) => entry.id));
        for (const id of ties) if (!have.has(id)) batch.push({ id, score: lastScore });
        batch.sort(newestFirst);
      }
      yield batch;
      if (flat.length < 2 * BATCH) return;
      max = `(${lastScore}`;
    }
  }

  /** Reads whole conversations in one pipeline; undefined for one that expired meanwhile. */
  async #read(batch: readonly { id: string; score: number }[]): Promise<(Raw | undefined)[]> {
    const pipeline = this.#o.redis.pipeline();
    for (const { id } of batch) {
      const [conversation, order, fields, ratings] = this.#o.keys(id);
      pipeline.hgetall(conversation).lrange(order, 0, -1).hgetall(fields).hgetall(ratings);
    }
    const replies = await this.#o.call(() => pipeline.exec());
    if (!replies) throw new StoreUnavailableError('Redis aborted a pipeline');
    for (const [error] of replies) if (error) throw new StoreUnavailableError('Redis read failed', { cause: error });
    const values = replies.map(([, value]) => value);
    return batch.map(({ id, score }, i) => {
      const conversation = values[4 * i] as Record<string, string>;
      if (conversation.createdAt === undefined) return undefined;
      return {
        id,
        score,
        conversation,
        order: values[4 * i + 1] as string[],
        fields: values[4 * i + 2] as Record<string, string>,
        ratings: values[4 * i + 3] as Record<string, string>,
      };
    });
  }

  async transcript(id: string): Promise<Transcript | undefined> {
    const conversation = await this.#o.getConversation(id);
    if (conversation === undefined) return undefined;
    const [raw] = await this.#read([{ id, score: 0 }]);
    if (raw === undefined) return undefined;
    const messages = conversation.messages.map((message) => {
      const rating = raw.ratings[message.id];
      return transcriptMessage(message, rating === 'up' || rating === 'down' ? rating : undefined, metaOf(raw.fields, message.id));
    });
    return {
      id,
      createdAt: isoOf(raw.conversation.createdAt),
      updatedAt: isoOf(raw.conversation.updatedAt),
      page: raw.conversation.page,
      messages,
    };
  }

  /**
   * Reads every conversation active since the start of the range (the activity index), through
   * the store's own read so a reply's sources count as the chat API shows them.
   */
  async figures(fromMs: number, toMs: number): Promise<DayFigures[]> {
    const first = Math.floor(fromMs / DAY_MS);
    const end = Math.ceil(toMs / DAY_MS);
    const days = new Map<number, DayFigures>();
    for (let day = first; day < end; day++) {
      days.set(day, { day: dayName(day), conversations: 0, messages: 0, up: 0, down: 0, failed: 0, uncovered: 0, tokens: 0 });
    }
    const dayOf = (ms: number) => days.get(Math.floor(ms / DAY_MS));
    const ids = await this.#o.call(() => this.#o.redis.zrangebyscore(this.#o.activityKey, first * DAY_MS, '+inf'));
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const [conversations, raws] = await Promise.all([
        Promise.all(batch.map((id) => this.#o.getConversation(id))),
        this.#read(batch.map((id) => ({ id, score: 0 }))),
      ]);
      conversations.forEach((conversation, n) => {
        const raw = raws[n];
        if (conversation === undefined || raw === undefined) return;
        const started = dayOf(Number(raw.conversation.createdAt));
        if (started) {
          started.conversations++;
          for (const id of raw.order) {
            if (raw.ratings[id] === 'up') started.up++;
            if (raw.ratings[id] === 'down') started.down++;
          }
        }
        for (const message of conversation.messages) {
          const day = dayOf(Date.parse(message.createdAt));
          if (day === undefined) continue;
          day.messages++;
          if (message.role !== 'assistant') continue;
          const meta = metaOf(raw.fields, message.id);
          if (meta?.finishReason === 'error') day.failed++;
          if (meta !== undefined) day.tokens += meta.inputTokens + meta.outputTokens;
          if (message.sources !== undefined && message.sources.length === 0) day.uncovered++;
        }
      });
    }
    return [...days.values()];
  }

  /**
   * Conversations written before the creation index existed are added to it once, from the
   * activity index and their own creation time. A marker key makes it once per Redis, not per
   * instance start; ZADD NX keeps a concurrent run harmless.
   */
  #ensureIndex(): Promise<void> {
    this.#indexed ??= this.#backfill().catch((error: unknown) => {
      this.#indexed = undefined;
      throw error;
    });
    return this.#indexed;
  }

  async #backfill(): Promise<void> {
    const { redis, createdKey, activityKey } = this.#o;
    const marker = `${createdKey}:complete`;
    if ((await this.#o.call(() => redis.exists(marker))) === 1) return;
    const ids = await this.#o.call(() => redis.zrange(activityKey, '0', '-1'));
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const pipeline = redis.pipeline();
      for (const id of batch) pipeline.hget(this.#o.keys(id)[0], 'createdAt');
      const created = (await this.#o.call(() => pipeline.exec())) ?? [];
      const entries: string[] = [];
      created.forEach(([, value], n) => {
        if (typeof value === 'string') entries.push(value, batch[n] as string);
      });
      if (entries.length > 0) await this.#o.call(() => redis.zadd(createdKey, 'NX', ...entries));
    }
    await this.#o.call(() => redis.set(marker, '1'));
  }
}

function newestFirst(a: { id: string; score: number }, b: { id: string; score: number }): number {
  return b.score - a.score || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function matches(raw: Raw, query: InboxQuery, words: string[]): boolean {
  const messages = raw.order;
  const field = (id: string, name: string) => raw.fields[`${id}:${name}`];
  if (query.rating !== undefined && !messages.some((id) => raw.ratings[id] === query.rating)) return false;
  if (query.problem === 'incomplete' && !messages.some((id) => field(id, 'role') === 'assistant' && field(id, 'status') === 'incomplete')) return false;
  if (query.problem === 'failed' && !messages.some((id) => metaOf(raw.fields, id)?.finishReason === 'error')) return false;
  if (query.model !== undefined && !messages.some((id) => metaOf(raw.fields, id)?.model === query.model)) return false;
  if (query.page !== undefined && !(raw.conversation.page ?? '').toLowerCase().includes(query.page.toLowerCase())) return false;
  if (words.length > 0) {
    const left = new Set(words);
    for (const id of messages) {
      for (const word of normalizeText(field(id, 'content') ?? '').match(/[\p{L}\p{N}]+/gu) ?? []) {
        for (const wanted of left) if (word.startsWith(wanted)) left.delete(wanted);
        if (left.size === 0) return true;
      }
    }
    return false;
  }
  return true;
}

function summarize(raw: Raw): ConversationSummary {
  let up = 0;
  let down = 0;
  let incomplete = 0;
  let failed = 0;
  let firstQuestion: string | undefined;
  for (const id of raw.order) {
    const role = raw.fields[`${id}:role`];
    const rating = raw.ratings[id] as Rating | undefined;
    if (rating === 'up') up++;
    if (rating === 'down') down++;
    if (role === 'user') firstQuestion ??= firstChars(raw.fields[`${id}:content`] ?? '', FIRST_QUESTION_CHARS);
    if (role === 'assistant' && raw.fields[`${id}:status`] === 'incomplete') incomplete++;
    if (metaOf(raw.fields, id)?.finishReason === 'error') failed++;
  }
  return {
    id: raw.id,
    createdAt: isoOf(raw.conversation.createdAt),
    updatedAt: isoOf(raw.conversation.updatedAt),
    page: raw.conversation.page,
    firstQuestion: firstQuestion ?? '',
    messages: raw.order.length,
    up,
    down,
    incomplete,
    failed,
  };
}

/** The first `n` characters (code points, as SQLite's substr counts them). */
function firstChars(text: string, n: number): string {
  if (text.length <= n) return text;
  let out = '';
  let count = 0;
  for (const char of text) {
    if (++count > n) break;
    out += char;
  }
  return out;
}

function metaOf(fields: Record<string, string>, id: string): ReplyMeta | undefined {
  const json = fields[`${id}:meta`];
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as ReplyMeta;
  } catch {
    return undefined;
  }
}

function isoOf(epochMs: string | undefined): string {
  return new Date(Number(epochMs ?? 0)).toISOString();
}
