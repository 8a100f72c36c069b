import { decodeSseData, type StreamEvent } from '@chatdrop/shared';
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../../store/store-unavailable-error.js';
import { guardRedis } from '../../store/redis-failure.js';
import {
  DEFAULT_END_TTL_MS,
  DEFAULT_MAX_EVENTS,
  DEFAULT_RUNNING_TTL_MS,
  type BufferedEvent,
  type StreamBuffer,
} from './stream-buffer.js';
import { RedisStreamFollower, type Follow } from './redis-stream-follower.js';
import { StreamGapError } from './stream-gap-error.js';

export interface RedisStreamBufferOptions {
  /**
   * The instance's command connection; not owned (the caller closes it). Live streams are
   * followed on one `duplicate()` of it for all readers (`RedisStreamFollower`), closed by `close`.
   */
  redis: Redis;
  /** Prefix of every key, so several sites (or tests) can share one Redis. */
  keyPrefix?: string;
  endTtlMs?: number;
  runningTtlMs?: number;
  maxEvents?: number;
  /** How long one blocking read waits before checking that the followed streams still exist. */
  blockMs?: number;
}

/**
 * The end marker's entry id. Events are stored under the ids `0-<sse id>`, so `XREAD ... 0-<n>`
 * is exactly "the events after Last-Event-ID n"; `1-0` sorts after every one of them, so one
 * stream key holds events and end mark, and a late append after the end is refused by Redis.
 */
const END_ENTRY = '1-0';
/** Entries per XRANGE/XREAD round trip. */
const BATCH = 500;
/** Re-arming the running safety net is one PEXPIRE; doing it per token would double the traffic. */
const REFRESH_EVERY_MS = 30_000;

/** Marks the stream ended (once) and shortens its life to the end expiry; no-op when it is gone. */
const END_STREAM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if top[1] == nil or top[1][1] ~= '${END_ENTRY}' then
  redis.call('XADD', KEYS[1], '${END_ENTRY}', 'end', '1')
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/**
 * The buffer shared by several instances (issue 6): each reply is one Redis Stream,
 * `<prefix>stream:<messageId>`, so a reader on any instance replays and follows it.
 */
export class RedisStreamBuffer implements StreamBuffer {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #endTtlMs: number;
  readonly #runningTtlMs: number;
  readonly #maxEvents: number;
  readonly #blockMs: number;
  /** When each stream written here last had its safety-net expiry re-armed. */
  readonly #refreshedAt = new Map<string, number>();
  /** Follows live streams for every reader here, on one connection; made on the first follow. */
  #followerOrUndefined: RedisStreamFollower | undefined;

  constructor(options: RedisStreamBufferOptions) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix ?? 'chatdrop:';
    this.#endTtlMs = options.endTtlMs ?? DEFAULT_END_TTL_MS;
    this.#runningTtlMs = options.runningTtlMs ?? DEFAULT_RUNNING_TTL_MS;
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.#blockMs = options.blockMs ?? 1_000;
    this.#redis.defineCommand('chatdropEndStream', { lua: END_STREAM, numberOfKeys: 1 });
  }

  append(messageId: string, id: number, event: StreamEvent): Promise<void> {
    const key = this.#key(messageId);
    // "~" lets Redis trim whole macro nodes: cheap, and the cap is only a bound, not a promise.
    const add = ['MAXLEN', '~', this.#maxEvents, `0-${id}`, 'e', JSON.stringify(event)] as const;
    const now = Date.now();
    const refreshed = this.#refreshedAt.get(messageId);
    if (refreshed !== undefined && now - refreshed < REFRESH_EVERY_MS) {
      // No await between call and send: ioredis writes commands in call order on one socket.
      return guardRedis(this.#redis.xadd(key, ...add).then(() => undefined));
    }
    this.#refreshedAt.set(messageId, now);
    return guardRedis(
      this.#redis
        .multi()
        .xadd(key, ...add)
        .pexpire(key, this.#runningTtlMs)
        .exec()
        .then(checkReplies)
        .catch((error: unknown) => {
          this.#refreshedAt.delete(messageId); // try again with the next append
          throw error;
        }),
    );
  }

  async end(messageId: string): Promise<void> {
    this.#refreshedAt.delete(messageId);
    // Same connection as the appends, so this runs after every one of them.
    const script = this.#redis as unknown as { chatdropEndStream(key: string, ttl: number): Promise<number> };
    await guardRedis(script.chatdropEndStream(this.#key(messageId), this.#endTtlMs));
  }

  async *read(messageId: string, afterId: number, signal: AbortSignal): AsyncIterable<BufferedEvent> {
    const key = this.#key(messageId);
    const at = { lastId: afterId };
    let follow: Follow | undefined;
    try {
      // Replay on the command connection: a finished stream needs nothing more.
      if (yield* this.#replay(key, messageId, at, Infinity, signal)) return;
      if (signal.aborted || (await guardRedis(this.#redis.exists(key))) === 0) return;
      // Live: through the instance's one follower. What went past it before this reader joined
      // is read here once; from then on the follower hands over every entry.
      follow = this.#follower.follow(key, at.lastId);
      if (follow.joinedAfter > at.lastId && (yield* this.#replay(key, messageId, at, follow.joinedAfter, signal))) return;
      for (;;) {
        const items = await follow.next(signal);
        if (signal.aborted) return;
        for (const item of items) {
          switch (item.type) {
            case 'end':
            case 'gone':
              return;
            case 'failed':
              throw item.error;
            case 'event': {
              if (item.id <= at.lastId) break; // already read in the replay
              // Entries between went by unseen (a reader that joined behind the follower, or
              // the follower's own batch boundary): read them, or fail if they were trimmed.
              if (item.id > at.lastId + 1 && (yield* this.#replay(key, messageId, at, item.id - 1, signal))) return;
              if (item.id !== at.lastId + 1) throw new StreamGapError(messageId, at.lastId + 1, item.id);
              yield { id: item.id, event: item.event };
              at.lastId = item.id;
              if (item.event.type === 'message-end' || signal.aborted) return;
              break;
            }
            default: {
              const unexpected: never = item;
              throw new Error(`unexpected follower item ${JSON.stringify(unexpected)}`);
            }
          }
        }
      }
    } finally {
      follow?.close();
    }
  }

  /**
   * Yields the stored events after `at.lastId` up to `untilId` (XRANGE, in batches), advancing
   * `at.lastId`; true when the reader is done (the end mark, `message-end`, or an abort).
   */
  async *#replay(key: string, messageId: string, at: { lastId: number }, untilId: number, signal: AbortSignal): AsyncGenerator<BufferedEvent, boolean> {
    const until = untilId === Infinity ? '+' : `0-${untilId}`;
    for (;;) {
      if (signal.aborted) return true;
      if (at.lastId >= untilId) return false;
      const entries = await guardRedis(this.#redis.xrange(key, `(0-${at.lastId}`, until, 'COUNT', BATCH));
      if (entries.length === 0) return false;
      for (const [entryId, fields] of entries) {
        if (entryId === END_ENTRY) return true;
        const id = Number(entryId.slice(2));
        if (id !== at.lastId + 1) throw new StreamGapError(messageId, at.lastId + 1, id);
        const event = decodeSseData(fields[1] ?? '');
        if (event === undefined) throw new StoreUnavailableError(`Stream ${messageId} holds a malformed event ${id}`);
        yield { id, event };
        at.lastId = id;
        if (event.type === 'message-end' || signal.aborted) return true;
      }
    }
  }

  /** Streams followed live by readers here now. */
  get following(): number {
    return this.#followerOrUndefined?.size ?? 0;
  }

  get #follower(): RedisStreamFollower {
    this.#followerOrUndefined ??= new RedisStreamFollower({ redis: this.#redis, keyPrefix: this.#prefix, blockMs: this.#blockMs, endEntry: END_ENTRY });
    return this.#followerOrUndefined;
  }

  async has(messageId: string): Promise<boolean> {
    return (await guardRedis(this.#redis.exists(this.#key(messageId)))) === 1;
  }

  async close(): Promise<void> {
    this.#refreshedAt.clear();
    await this.#followerOrUndefined?.close();
  }

  #key(messageId: string): string {
    return `${this.#prefix}stream:${messageId}`;
  }
}

function checkReplies(replies: [Error | null, unknown][] | null): void {
  if (replies === null) throw new Error('Redis aborted the transaction');
  for (const [error] of replies) if (error) throw error;
}
