import type { ChatRole, MessageStatus, Source } from '@chatdrop/shared';
import { Redis } from 'ioredis';
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
import type { DayFigures, InboxPage, InboxQuery, StoredSession, Transcript } from './inbox-query.js';
import { RedisInbox } from './redis-inbox.js';
import { appendedMessage } from './appended-message.js';
import { isWellFormedId, newId } from './new-id.js';
import {
  APPEND_MESSAGE,
  APPEND_TURN,
  CREATE_CONVERSATION,
  DELETE_CONVERSATION,
  SET_FEEDBACK,
  UPDATE_MESSAGE,
  DELETE_MESSAGE,
} from './redis-scripts.js';
import { redisFailure } from './redis-failure.js';
import { StoreUnavailableError } from './store-unavailable-error.js';

export interface RedisStoreOptions {
  /** `REDIS_URL`, e.g. `redis://127.0.0.1:6379/0`. */
  url: string;
  /** Epoch milliseconds; injected by tests to drive `deleteIdleSince`. */
  now?: () => number;
  /** How long an idle conversation lives: the TTL of its keys, refreshed on every write. */
  retentionMs?: number;
  /** Prefix of every key, so several sites (or tests) can share one Redis. */
  keyPrefix?: string;
  /** Hears connection errors while Redis is away (for the log); the store keeps reconnecting. */
  onError?: (error: Error) => void;
}

const DEFAULT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const CONNECT_TIMEOUT_MS = 5_000;
/** Conversations deleted per round trip when sweeping. */
const SWEEP_BATCH = 200;

/** ioredis adds a method per `defineCommand`; these are ours (5 keys, then the ARGV in redis-scripts.ts). */
interface Scripts {
  createConversation(...keysAndArgs: (string | number)[]): Promise<number>;
  appendMessage(...keysAndArgs: (string | number)[]): Promise<number>;
  appendTurn(...keysAndArgs: (string | number)[]): Promise<number>;
  updateMessage(...keysAndArgs: (string | number)[]): Promise<number>;
  deleteMessage(...keysAndArgs: (string | number)[]): Promise<number>;
  setFeedback(...keysAndArgs: (string | number)[]): Promise<number>;
  deleteConversation(...keysAndArgs: (string | number)[]): Promise<number>;
}

/**
 * The shared backend for several instances (issue 6): each conversation is a few keys that expire
 * after the retention, refreshed on every write; messages keep their order in a list; every write
 * that checks something first is one Lua script, so it is atomic across instances. Commands from
 * one instance go over one connection in call order, so appends made together keep that order.
 *
 * Redis going away is not a visitor's mistake: calls then fail at once with
 * `StoreUnavailableError` (no queue that grows while Redis is down), and the client reconnects by
 * itself with backoff, so the server recovers without a restart.
 */
export class RedisStore implements ConversationStore {
  readonly #redis: Redis;
  readonly #scripts: Scripts;
  readonly #now: () => number;
  readonly #ttl: number;
  readonly #prefix: string;
  #connecting: Promise<void> | undefined;
  #connected = false;
  readonly #inbox: RedisInbox;

  constructor(options: RedisStoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#ttl = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#prefix = options.keyPrefix ?? 'chatdrop:';
    this.#redis = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Fail a call at once while disconnected instead of holding the visitor's request.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    });
    // Without a listener ioredis prints every reconnect failure as an unhandled error.
    const onError = options.onError ?? (() => {});
    this.#redis.on('error', onError);
    this.#redis.defineCommand('createConversation', { lua: CREATE_CONVERSATION, numberOfKeys: 6 });
    this.#redis.defineCommand('appendMessage', { lua: APPEND_MESSAGE, numberOfKeys: 5 });
    this.#redis.defineCommand('appendTurn', { lua: APPEND_TURN, numberOfKeys: 6 });
    this.#redis.defineCommand('updateMessage', { lua: UPDATE_MESSAGE, numberOfKeys: 5 });
    this.#redis.defineCommand('deleteMessage', { lua: DELETE_MESSAGE, numberOfKeys: 5 });
    this.#redis.defineCommand('setFeedback', { lua: SET_FEEDBACK, numberOfKeys: 5 });
    this.#redis.defineCommand('deleteConversation', { lua: DELETE_CONVERSATION, numberOfKeys: 6 });
    this.#scripts = this.#redis as unknown as Scripts;
    this.#inbox = new RedisInbox({
      redis: this.#redis,
      call: (command) => this.#call(command),
      keys: (id) => this.#keys(id),
      createdKey: this.#createdKey(),
      activityKey: this.#indexKey(),
      getConversation: (id) => this.getConversation(id),
    });
  }

  /**
   * Connects, and rejects with a clear error when Redis cannot be reached, so `main.ts` can refuse
   * to start instead of serving 503s. The store is usable only after this resolves.
   */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(options);
    await store.connect();
    return store;
  }

  connect(): Promise<void> {
    this.#connecting ??= this.#connect();
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    // ioredis rejects with a bare "Connection is closed."; the socket's own error says why.
    let socketError: Error | undefined;
    const onError = (error: Error) => (socketError ??= error);
    this.#redis.on('error', onError);
    try {
      await this.#redis.connect();
      await this.#redis.ping();
      this.#connected = true;
    } catch (error) {
      this.#redis.disconnect();
      this.#connecting = undefined;
      const reason = socketError ?? error;
      throw redisFailure(reason, `Cannot reach Redis at ${redactUrl(this.#redis)}`);
    } finally {
      this.#redis.off('error', onError);
    }
  }

  async createConversation(): Promise<string> {
    const id = newId();
    await this.#call(() => this.#scripts.createConversation(...this.#keys(id), this.#createdKey(), id, this.#now(), this.#ttl));
    return id;
  }

  async getConversation(id: string): Promise<StoredConversation | undefined> {
    if (!isWellFormedId(id)) return undefined;
    const [conversation, order, fields] = this.#keys(id);
    // One MULTI: the list and the fields are read at the same instant, so a message appended
    // meanwhile cannot appear in one and not the other.
    const replies = await this.#call(() =>
      this.#redis.multi().exists(conversation).lrange(order, 0, -1).hgetall(fields).exec(),
    );
    if (!replies) throw new StoreUnavailableError('Redis aborted a read transaction');
    for (const [error] of replies) if (error) throw new StoreUnavailableError('Redis read failed', { cause: error });
    const [exists, ids, values] = replies.map(([, value]) => value) as [number, string[], Record<string, string>];
    if (exists === 0) return undefined;
    const messages = ids.flatMap((messageId): StoredMessage[] => {
      const role = values[`${messageId}:role`];
      if (role === undefined) return []; // cannot happen: the append script writes both at once
      const message: StoredMessage = {
        id: messageId,
        role: role as ChatRole,
        content: values[`${messageId}:content`] ?? '',
        status: (values[`${messageId}:status`] ?? 'incomplete') as MessageStatus,
        createdAt: new Date(Number(values[`${messageId}:createdAt`])).toISOString(),
        ...sourcesOf(values[`${messageId}:sources`]),
      };
      const tokens = values[`${messageId}:tokens`];
      if (tokens !== undefined) message.tokens = Number(tokens);
      return [message];
    });
    return { id, messages };
  }

  async appendMessage(conversationId: string, message: NewMessage): Promise<StoredMessage | undefined> {
    if (!isWellFormedId(conversationId)) return undefined;
    const id = newId();
    const now = this.#now();
    const appended = await this.#call(() =>
      this.#scripts.appendMessage(
        ...this.#keys(conversationId),
        conversationId, id, message.role, message.status, message.content, now, this.#ttl, message.page ?? '',
        message.sources === undefined ? '' : JSON.stringify(message.sources),
        message.tokens ?? '',
      ),
    );
    if (appended !== 1) return undefined;
    return appendedMessage(id, message, now);
  }

  async appendTurn(turn: NewTurn): Promise<StartedTurn | undefined> {
    if (turn.conversationId !== undefined && !isWellFormedId(turn.conversationId)) return undefined;
    const conversationId = turn.conversationId ?? newId();
    const questionId = newId();
    const replyId = newId();
    const now = this.#now();
    const replaces = turn.replaces !== undefined && isWellFormedId(turn.replaces) ? turn.replaces : '';
    const appended = await this.#call(() =>
      this.#scripts.appendTurn(
        ...this.#keys(conversationId), this.#createdKey(),
        conversationId, turn.conversationId === undefined ? '1' : '0', now, this.#ttl, replaces,
        ...(turn.question === undefined ? ['', '', '', '', '', '', ''] : messageArgs(questionId, turn.question)),
        ...messageArgs(replyId, turn.reply),
        ...(turn.counts ?? []).filter((c) => isWellFormedId(c.messageId)).flatMap((c) => [c.messageId, c.tokens]),
      ),
    );
    if (appended !== 1) return undefined;
    return {
      conversationId,
      ...(turn.question === undefined ? {} : { question: appendedMessage(questionId, turn.question, now) }),
      reply: appendedMessage(replyId, turn.reply, now),
    };
  }

  async updateMessage(conversationId: string, messageId: string, patch: MessagePatch): Promise<boolean> {
    if (!isWellFormedId(conversationId) || !isWellFormedId(messageId)) return false;
    const updated = await this.#call(() =>
      this.#scripts.updateMessage(
        ...this.#keys(conversationId),
        conversationId, messageId, patch.status, patch.content, this.#now(), this.#ttl,
        patch.meta === undefined ? '' : JSON.stringify(patch.meta),
        patch.tokens ?? '',
      ),
    );
    return updated === 1;
  }

  async deleteMessage(conversationId: string, messageId: string): Promise<boolean> {
    if (!isWellFormedId(conversationId) || !isWellFormedId(messageId)) return false;
    const deleted = await this.#call(() =>
      this.#scripts.deleteMessage(...this.#keys(conversationId), conversationId, messageId, this.#now(), this.#ttl),
    );
    return deleted === 1;
  }

  async deleteConversation(id: string): Promise<boolean> {
    if (!isWellFormedId(id)) return false;
    return (await this.#call(() => this.#scripts.deleteConversation(...this.#keys(id), this.#createdKey(), id, ''))) === 1;
  }

  async setFeedback(conversationId: string, messageId: string, rating: Rating): Promise<boolean> {
    if (!isWellFormedId(conversationId) || !isWellFormedId(messageId)) return false;
    const set = await this.#call(() =>
      this.#scripts.setFeedback(...this.#keys(conversationId), conversationId, messageId, rating, this.#now(), this.#ttl),
    );
    return set === 1;
  }

  async getFeedback(conversationId: string, messageId: string): Promise<Rating | undefined> {
    if (!isWellFormedId(conversationId) || !isWellFormedId(messageId)) return undefined;
    const rating = await this.#call(() => this.#redis.hget(this.#keys(conversationId)[3], messageId));
    return rating === 'up' || rating === 'down' ? rating : undefined;
  }

  /**
   * TTLs already expire idle conversations on Redis's clock; this sweep exists for the store's own
   * clock (tests, an explicit sweep) and to drop index entries of conversations that expired.
   */
  async deleteIdleSince(cutoffMs: number): Promise<number> {
    const index = this.#indexKey();
    let deleted = 0;
    for (;;) {
      // Exclusive upper bound: idle strictly before the cutoff, as in the SQLite store.
      const ids = await this.#call(() => this.#redis.zrangebyscore(index, '-inf', `(${cutoffMs}`, 'LIMIT', 0, SWEEP_BATCH));
      if (ids.length === 0) return deleted;
      const results = await this.#call(() =>
        Promise.all(ids.map((id) => this.#scripts.deleteConversation(...this.#keys(id), this.#createdKey(), id, cutoffMs))),
      );
      deleted += results.filter((result) => result === 1).length;
    }
  }

  listConversations(query: InboxQuery): Promise<InboxPage> {
    return this.#inbox.list(query);
  }

  async getTranscript(id: string): Promise<Transcript | undefined> {
    if (!isWellFormedId(id)) return undefined;
    return this.#inbox.transcript(id);
  }

  dailyFigures(fromMs: number, toMs: number): Promise<DayFigures[]> {
    return this.#inbox.figures(fromMs, toMs);
  }

  /** One hash per session that Redis itself expires at `expiresAt` (and the store's clock checks too). */
  async putSession(idHash: string, session: StoredSession): Promise<void> {
    const key = this.#sessionKey(idHash);
    const replies = await this.#call(() =>
      this.#redis
        .multi()
        .hset(key, 'user', session.user, 'credential', session.credential, 'createdAt', session.createdAt, 'lastSeenAt', session.lastSeenAt, 'expiresAt', session.expiresAt)
        .pexpireat(key, session.expiresAt)
        .exec(),
    );
    if (!replies) throw new StoreUnavailableError('Redis aborted a write transaction');
    for (const [error] of replies) if (error) throw new StoreUnavailableError('Redis write failed', { cause: error });
  }

  async getSession(idHash: string): Promise<StoredSession | undefined> {
    const fields = await this.#call(() => this.#redis.hgetall(this.#sessionKey(idHash)));
    if (fields.user === undefined) return undefined;
    const session = {
      user: fields.user,
      credential: fields.credential ?? '',
      createdAt: Number(fields.createdAt),
      lastSeenAt: Number(fields.lastSeenAt),
      expiresAt: Number(fields.expiresAt),
    };
    return session.expiresAt > this.#now() ? session : undefined;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.#call(() => this.#redis.del(this.#sessionKey(idHash)));
  }

  async close(): Promise<void> {
    const status = this.#redis.status;
    if (status === 'end') return;
    if (status === 'ready') {
      try {
        await this.#redis.quit();
        return;
      } catch {
        // Lost the connection while quitting: just drop it.
      }
    }
    this.#redis.disconnect();
  }

  /** The five keys every script takes, in the order redis-scripts.ts documents. */
  #keys(conversationId: string): [string, string, string, string, string] {
    const base = `${this.#prefix}conversation:${conversationId}`;
    return [base, `${base}:order`, `${base}:messages`, `${base}:feedback`, this.#indexKey()];
  }

  #indexKey(): string {
    return `${this.#prefix}conversations-by-activity`;
  }

  #sessionKey(idHash: string): string {
    return `${this.#prefix}inbox-session:${idHash}`;
  }

  /** What the support inbox lists from: conversation ids by creation time (redis-inbox.ts). */
  #createdKey(): string {
    return `${this.#prefix}conversations-by-created`;
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    // Built with `new` and used before `connect()`: connect on first use. Later drops are
    // handled by ioredis's own reconnects, during which calls fail fast.
    // Concurrent first calls wait on the same connection promise and then run in call order.
    if (!this.#connected) await this.connect();
    try {
      return await command();
    } catch (error) {
      throw redisFailure(error);
    }
  }
}

/** A message's seven values as APPEND_TURN takes them (redis-scripts.ts). */
function messageArgs(id: string, message: NewMessage): (string | number)[] {
  return [
    id, message.role, message.status, message.content,
    message.sources === undefined ? '' : JSON.stringify(message.sources), message.tokens ?? '', message.page ?? '',
  ];
}

/** A stored reply's sources field: absent, or the JSON array the append script wrote. */
function sourcesOf(raw: string | undefined): { sources?: Source[] } {
  return raw === undefined ? {} : { sources: JSON.parse(raw) as Source[] };
}

/** host:port only: a REDIS_URL may carry a password, which belongs in no log line. */
function redactUrl(redis: Redis): string {
  return `${redis.options.host ?? '?'}:${redis.options.port ?? '?'}`;
}
