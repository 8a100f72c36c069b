import type Database from 'better-sqlite3';
import type { Conversation } from '@chatdrop/shared';
import type { Rating } from './conversation-store.js';
import {
  DAY_MS,
  dayName,
  searchWords,
  type ConversationSummary,
  type DayFigures,
  type InboxFilter,
  type InboxPage,
  type InboxQuery,
  type ReplyMeta,
  type Transcript,
} from './inbox-query.js';
import { transcriptMessage } from './transcript-message.js';

/** A message's search rowid is `num * SEARCH_SPAN + n`: its conversation's messages sit together. */
export const SEARCH_SPAN = 16_777_216;

/**
 * How many search hits one page may look at before it answers with what it has (and a cursor to
 * go on from): a common word with a filter that almost nothing passes would otherwise read the
 * whole index for one page.
 */
const MAX_SEARCH_HITS = 5_000;
/**
 * How many hits of the other words of a search one page may read alongside (each about half a
 * microsecond, so about 0.1 s): a rare word with a word in every message reads all of the
 * common word's hits to find a page, which is what finding it takes, but not without end.
 */
const MAX_FOLLOWED_HITS = 200_000;
/** Final messages put into the search index per transaction, and how often a round runs. */
const INDEX_BATCH = 1_000;
const INDEX_EVERY_MS = 2_000;
/** A reply still without an end after this long will not get one (its server stopped mid-stream). */
const STALE_REPLY_MS = 60 * 60 * 1000;
/** New conversations checked against the filter per query while searching. */
const SEARCH_BATCH = 100;
/** Up to this many given ids, a search checks each conversation's part of the index instead. */
const MAX_IDS_CHECKED = 1_000;

/** A word as a quoted FTS5 prefix: letters and digits only (searchWords), so nothing in it is syntax. */
function prefix(word: string): string {
  return `"${word}"*`;
}

/**
 * The words, the likely rarest first: the longest, as a longer prefix stands for fewer words of
 * the index (knowing the true counts would mean reading every word's hits before the search).
 */
function byRarity(words: string[]): string[] {
  return [...words].sort((a, b) => b.length - a.length);
}

interface SummaryRow {
  id: string;
  num: number;
  created_at: number;
  updated_at: number;
  page: string | null;
  first_question: string | null;
  message_count: number;
  up_count: number;
  down_count: number;
  incomplete_count: number;
  failed_count: number;
}

interface ExtraRow {
  id: string;
  rating: Rating | null;
  model: string | null;
  upstream_model: string | null;
  finish_reason: ReplyMeta['finishReason'] | null;
  error_code: string | null;
  first_token_ms: number | null;
  duration_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
}

const SUMMARY = `c.id, c.num, c.created_at, c.updated_at, c.page, c.first_question, c.message_count,
  c.up_count, c.down_count, c.incomplete_count, c.failed_count`;

/**
 * The support inbox's reads on the SQLite store: the listing, the search, a transcript and the
 * daily figures. Everything a listing shows or filters on is in the conversation's summary
 * columns (kept by triggers, see sqlite-migrations.ts), so a page of 50 reads about 50 rows of
 * one index; the search walks the FTS5 index newest conversation first and stops after a page.
 */
export class SqliteInbox {
  readonly #db: Database.Database;
  readonly #readConversation: (id: string) => Conversation | undefined;
  /** Statements by their SQL: one per combination of filters used, built on first use. */
  readonly #statements = new Map<string, Database.Statement>();
  readonly #extras;
  readonly #conversationRow;
  readonly #transcript;
  readonly #uncovered: string;

  readonly #indexBatch: (limit: number) => number;
  readonly #timer: NodeJS.Timeout;

  constructor(db: Database.Database, readConversation: (id: string) => Conversation | undefined, options: { now: () => number; indexEveryMs?: number | undefined }) {
    this.#db = db;
    this.#readConversation = readConversation;
    const pending = db.prepare<[number, number], { seq: number; conversation_id: string; content: string }>(
      `SELECT seq, conversation_id, content FROM messages INDEXED BY messages_unindexed
       WHERE search_rowid IS NULL AND (role = 'user' OR finish_reason IS NOT NULL OR created_at < ?)
       ORDER BY seq LIMIT ?`,
    );
    const nextRowid = db
      .prepare<[string], number>(`UPDATE conversations SET indexed_count = indexed_count + 1 WHERE id = ? RETURNING num * ${SEARCH_SPAN} + indexed_count`)
      .pluck();
    const insert = db.prepare<[number, string]>('INSERT INTO messages_search (rowid, content) VALUES (?, ?)');
    const mark = db.prepare<[number, number]>('UPDATE messages SET search_rowid = ? WHERE seq = ?');
    // One transaction per batch: FTS5 writes a segment per transaction, so a batch of messages
    // costs about what one would, and the chat's own writes never wait on the index. A reply that
    // never ended (its server died mid-stream) is indexed as it stands after an hour.
    this.#indexBatch = db.transaction((limit: number): number => {
      const rows = pending.all(options.now() - STALE_REPLY_MS, limit);
      for (const row of rows) {
        const rowid = nextRowid.get(row.conversation_id);
        if (rowid === undefined) continue;
        insert.run(rowid, row.content);
        mark.run(rowid, row.seq);
      }
      return rows.length;
    });
    this.#timer = setInterval(() => {
      try {
        // A few batches a round at most, so a backlog does not hold the event loop for long.
        for (let n = 0; n < 10 && this.#indexBatch(INDEX_BATCH) === INDEX_BATCH; n++);
      } catch {
        // The database is closing, or busy with another writer: the next round or search does it.
      }
    }, options.indexEveryMs ?? INDEX_EVERY_MS);
    this.#timer.unref();
    this.#extras = db.prepare<[string], ExtraRow>(
      `SELECT m.id, f.rating, m.model, m.upstream_model, m.finish_reason, m.error_code, m.first_token_ms,
         m.duration_ms, m.input_tokens, m.output_tokens
       FROM messages m LEFT JOIN feedback f ON f.message_id = m.id WHERE m.conversation_id = ?`,
    );
    this.#conversationRow = db.prepare<[string], Pick<SummaryRow, 'created_at' | 'updated_at' | 'page'>>(
      'SELECT created_at, updated_at, page FROM conversations WHERE id = ?',
    );
    this.#transcript = db.transaction((id: string): Transcript | undefined => this.#readTranscript(id));
    // Knowledge keeps a reply's sources in `messages.sources` as a JSON list; `[]` means nothing
    // covered the question. Until that column exists there is nothing to count.
    const columns = db.prepare<[], { name: string }>('PRAGMA table_info(messages)').all().map((c) => c.name);
    this.#uncovered = columns.includes('sources')
      ? "(role = 'assistant' AND json_valid(sources) AND json_array_length(sources) = 0)"
      : '0';
  }

  list(query: InboxQuery): InboxPage {
    if (query.ids !== undefined && query.ids.length === 0) return { conversations: [], next: undefined };
    const words = query.text === undefined ? [] : searchWords(query.text);
    if (words.length === 0) return this.#list(query);
    // A search sees every final message: what still waits for the index goes in first.
    while (this.#indexBatch(INDEX_BATCH) === INDEX_BATCH);
    if (query.ids !== undefined && query.ids.length <= MAX_IDS_CHECKED) return this.#searchAmong(words, query);
    return this.#search(words, query);
  }

  /** Stops the indexing rounds (the store is closing). */
  stop(): void {
    clearInterval(this.#timer);
  }

  #list(query: InboxQuery): InboxPage {
    const { clauses, params } = filterSql(query);
    const after = query.cursor === undefined ? undefined : /^(\d+)\.(.+)$/.exec(query.cursor);
    if (after) {
      clauses.push('(c.created_at, c.id) < (?, ?)');
      params.push(Number(after[1]), after[2]);
    }
    const sql = `SELECT ${SUMMARY} FROM conversations c ${whereOf(clauses)} ORDER BY c.created_at DESC, c.id DESC LIMIT ?`;
    const rows = this.#statement(sql).all(...params, query.limit + 1) as SummaryRow[];
    const shown = rows.slice(0, query.limit);
    const last = shown.at(-1);
    return {
      conversations: shown.map(toSummary),
      next: rows.length > query.limit && last ? `${last.created_at}.${last.id}` : undefined,
    };
  }

  /**
   * Walks the index's hits newest conversation first (rowid order, which FTS5 gives without a
   * sort) and checks the filter on each new conversation, a batch of them per query, until a page
   * is full and one more passes. A search reads at most `MAX_SEARCH_HITS` hits per page; then it
   * answers with what it found and a cursor to go on from.
   *
   * The words may be in different messages of a conversation (the visitor's question has one, the
   * reply another), so each word is its own MATCH rather than one MATCH of all of them per message.
   * The most telling word leads; the hits of each other word are read alongside, in the same
   * descending order, and a conversation is in when every word has a hit in its span of rowids.
   * Each of those readers only moves forward, so a page reads every hit at most once, and a prefix
   * (which FTS5 gathers over the whole index when its query starts) is gathered once per page,
   * not once per conversation (a MATCH per conversation's span would gather it each time: about
   * 100 ms for a prefix of 500 words over 400,000 messages). `MAX_SEARCH_HITS` counts the lead
   * word's hits; the others' are bounded by `MAX_FOLLOWED_HITS`.
   */
  #search(words: string[], query: InboxQuery): InboxPage {
    const { clauses, params } = filterSql(query);
    const before = query.cursor === undefined ? undefined : /^n(\d+)$/.exec(query.cursor);
    // One statement per word: better-sqlite3 runs one iteration of a statement at a time.
    const hits = (word: number): Database.Statement =>
      this.#statement(`SELECT rowid FROM messages_search WHERE messages_search MATCH ? AND rowid < ? ORDER BY rowid DESC /* ${word} */`).pluck();
    // With a rating or problem filter, its partial index by number answers for most of the
    // batch without reading a row (the planner, without statistics, would take the unique index).
    const flag = query.problem ?? (query.rating === 'down' ? 'down' : query.rating === 'up' ? 'up' : undefined);
    const indexed = flag === undefined ? '' : `INDEXED BY conversations_${flag}_num`;
    const passing =
      clauses.length === 0
        ? undefined
        : this.#statement(
            `SELECT c.num FROM conversations c ${indexed} WHERE c.num IN (SELECT value FROM json_each(?)) AND ${clauses.join(' AND ')}`,
          ).pluck();
    const upTo = before ? Number(before[1]) * SEARCH_SPAN : Number.MAX_SAFE_INTEGER;
    const [lead, ...others] = byRarity(words);
    // Where each other word's reader stands: the conversation number of its current hit, or
    // undefined once it has no more (then no conversation further down can have every word).
    const readers: IterableIterator<number>[] = [];
    const at: (number | undefined)[] = others.map(() => Number.POSITIVE_INFINITY);

    const found: number[] = [];
    let batch: number[] = [];
    const check = (): void => {
      const pass = passing === undefined ? undefined : new Set(passing.all(JSON.stringify(batch), ...params) as number[]);
      for (const num of batch) if (pass === undefined || pass.has(num)) found.push(num);
      batch = [];
    };
    let seen: number | undefined;
    // The lead word's hits read, and the other words' hits read to keep up with it.
    let read = 0;
    let stopped = false;
    let exhausted = false;
    let followed = 0;
    /** Whether every other word has a hit in conversation `num`, moving their readers down to it. */
    const hasAll = (num: number): boolean => {
      let all = true;
      for (let i = 0; i < readers.length; i++) {
        let here = at[i];
        while (here !== undefined && here > num) {
          const next = (readers[i] as IterableIterator<number>).next();
          here = next.done ? undefined : Math.floor(next.value / SEARCH_SPAN);
          followed++;
        }
        at[i] = here;
        if (here === undefined) {
          exhausted = true;
          return false;
        }
        if (here < num) all = false;
      }
      return all;
    };
    try {
      for (const [i, word] of others.entries()) readers.push(hits(i + 1).iterate(prefix(word), upTo) as IterableIterator<number>);
      // Leaving the loop early closes the statement's iterator (better-sqlite3 resets it).
      for (const rowid of hits(0).iterate(prefix(lead as string), upTo) as IterableIterator<number>) {
        const num = Math.floor(rowid / SEARCH_SPAN);
        if (num !== seen) {
          seen = num;
          if (hasAll(num)) batch.push(num);
          if (exhausted) break;
          if (batch.length === SEARCH_BATCH) check();
          if (found.length > query.limit) break;
        }
        if (++read >= MAX_SEARCH_HITS || followed >= MAX_FOLLOWED_HITS) {
          stopped = true;
          break;
        }
      }
    } finally {
      for (const reader of readers) reader.return?.();
    }
    check();
    const page = found.slice(0, query.limit);
    // Every conversation numbered `seen` or above has been decided: a long search goes on below it.
    const next = found.length > query.limit ? `n${page.at(-1)}` : stopped ? `n${seen}` : undefined;
    const rows = this.#statement(`SELECT ${SUMMARY} FROM conversations c WHERE c.num IN (SELECT value FROM json_each(?)) ORDER BY c.num DESC`).all(
      JSON.stringify(page),
    ) as SummaryRow[];
    return { conversations: rows.map(toSummary), next };
  }

  /**
   * A search among a few given conversations (the hand-off filter's batch of ids): those that pass
   * the other filters, newest first, that the words are found in (each anywhere in the
   * conversation). One read of the index per word over the rowids of just those conversations'
   * span (a conversation's messages are one range of rowids), rather than walking every hit of a
   * common word for a few of them. Its cursor is the listing's.
   */
  #searchAmong(words: string[], query: InboxQuery): InboxPage {
    const { clauses, params } = filterSql(query);
    const after = query.cursor === undefined ? undefined : /^(\d+)\.(.+)$/.exec(query.cursor);
    if (after) {
      clauses.push('(c.created_at, c.id) < (?, ?)');
      params.push(Number(after[1]), after[2]);
    }
    const rows = this.#statement(`SELECT ${SUMMARY} FROM conversations c ${whereOf(clauses)} ORDER BY c.created_at DESC, c.id DESC`).all(...params) as SummaryRow[];
    if (rows.length === 0) return { conversations: [], next: undefined };
    const nums = rows.map((row) => row.num);
    const hits = this.#statement('SELECT rowid FROM messages_search WHERE messages_search MATCH ? AND rowid >= ? AND rowid < ?').pluck();
    // The conversations that have every word, in any of their messages: one read per word, the
    // most telling first, each over the span that the words before it left.
    let matched = new Set(nums);
    for (const word of byRarity(words)) {
      if (matched.size === 0) break;
      const had = matched;
      matched = new Set<number>();
      for (const rowid of hits.iterate(prefix(word), Math.min(...had) * SEARCH_SPAN, (Math.max(...had) + 1) * SEARCH_SPAN) as IterableIterator<number>) {
        const num = Math.floor(rowid / SEARCH_SPAN);
        if (had.has(num)) matched.add(num);
      }
    }
    const found: SummaryRow[] = [];
    for (const row of rows) {
      if (!matched.has(row.num)) continue;
      if (found.length === query.limit) {
        const last = found.at(-1) as SummaryRow;
        return { conversations: found.map(toSummary), next: `${last.created_at}.${last.id}` };
      }
      found.push(row);
    }
    return { conversations: found.map(toSummary), next: undefined };
  }

  transcript(id: string): Transcript | undefined {
    return this.#transcript(id);
  }

  #readTranscript(id: string): Transcript | undefined {
    const conversation = this.#readConversation(id);
    const row = this.#conversationRow.get(id);
    if (conversation === undefined || row === undefined) return undefined;
    const extras = new Map(this.#extras.all(id).map((extra) => [extra.id, extra]));
    const messages = conversation.messages.map((message) => {
      const extra = extras.get(message.id);
      return transcriptMessage(message, extra?.rating ?? undefined, extra?.finish_reason ? toMeta(extra) : undefined);
    });
    return {
      id,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
      page: row.page ?? undefined,
      messages,
    };
  }

  figures(fromMs: number, toMs: number): DayFigures[] {
    const first = Math.floor(fromMs / DAY_MS);
    const end = Math.ceil(toMs / DAY_MS);
    const days = new Map<number, DayFigures>();
    for (let day = first; day < end; day++) {
      days.set(day, { day: dayName(day), conversations: 0, messages: 0, up: 0, down: 0, failed: 0, uncovered: 0, tokens: 0 });
    }
    const range = [first * DAY_MS, end * DAY_MS];
    // Ratings from the conversations' summaries, by the day each conversation started: a range
    // of one index instead of a join of every message with its rating.
    const conversations = this.#statement(
      `SELECT created_at / ${DAY_MS} AS day, count(*) AS n, sum(up_count) AS up, sum(down_count) AS down FROM conversations
       WHERE created_at >= ? AND created_at < ? GROUP BY day`,
    ).all(...range) as { day: number; n: number; up: number; down: number }[];
    const messages = this.#statement(
      `SELECT created_at / ${DAY_MS} AS day, count(*) AS messages, sum(finish_reason IS 'error') AS failed,
         sum(${this.#uncovered}) AS uncovered, sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) AS tokens
       FROM messages WHERE created_at >= ? AND created_at < ? GROUP BY day`,
    ).all(...range) as { day: number; messages: number; failed: number; uncovered: number; tokens: number }[];
    for (const row of conversations) {
      const day = days.get(row.day);
      if (day) Object.assign(day, { conversations: row.n, up: row.up, down: row.down });
    }
    for (const row of messages) {
      const day = days.get(row.day);
      if (day) Object.assign(day, { messages: row.messages, failed: row.failed, uncovered: row.uncovered, tokens: row.tokens });
    }
    return [...days.values()];
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** The filter as SQL conditions on `conversations c`, with their parameters in order. */
function filterSql(filter: InboxFilter): { clauses: string[]; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  // Literal conditions, matching the partial indexes' WHERE clauses, so the planner can use them.
  if (filter.rating === 'down') clauses.push('c.down_count > 0');
  if (filter.rating === 'up') clauses.push('c.up_count > 0');
  if (filter.problem === 'failed') clauses.push('c.failed_count > 0');
  if (filter.problem === 'incomplete') clauses.push('c.incomplete_count > 0');
  if (filter.from !== undefined) {
    clauses.push('c.created_at >= ?');
    params.push(filter.from);
  }
  if (filter.to !== undefined) {
    clauses.push('c.created_at < ?');
    params.push(filter.to);
  }
  if (filter.model !== undefined) {
    clauses.push('EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.model = ?)');
    params.push(filter.model);
  }
  if (filter.page !== undefined) {
    // instr() over lower(): a plain substring, no LIKE wildcards to escape.
    clauses.push('instr(lower(c.page), ?) > 0');
    params.push(filter.page.toLowerCase());
  }
  if (filter.ids !== undefined) {
    clauses.push('c.id IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.ids));
  }
  return { clauses, params };
}

function whereOf(clauses: string[]): string {
  return clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
}

function toSummary(row: SummaryRow): ConversationSummary {
  return {
    id: row.id,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    page: row.page ?? undefined,
    firstQuestion: row.first_question ?? '',
    messages: row.message_count,
    up: row.up_count,
    down: row.down_count,
    incomplete: row.incomplete_count,
    failed: row.failed_count,
  };
}

function toMeta(row: ExtraRow): ReplyMeta {
  const meta: ReplyMeta = {
    model: row.model ?? '',
    upstreamModel: row.upstream_model ?? '',
    finishReason: row.finish_reason ?? 'error',
    durationMs: row.duration_ms ?? 0,
    inputTokens: row.input_tokens ?? 0,
    outputTokens: row.output_tokens ?? 0,
  };
  if (row.error_code !== null) meta.errorCode = row.error_code;
  if (row.first_token_ms !== null) meta.firstTokenMs = row.first_token_ms;
  return meta;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
