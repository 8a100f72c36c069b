import { decodeSseData, type StreamEvent } from '@chatdrop/shared';
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../../store/store-unavailable-error.js';
import {
  DEFAULT_END_TTL_MS,
  DEFAULT_MAX_EVENTS,
  DEFAULT_RUNNING_TTL_MS,
  type BufferedEvent,
  type StreamBuffer,
} from './stream-buffer.js';
import { StreamGapError } from './stream-gap-error.js';

export interface RedisStreamBufferOptions {
  /**
   * The instance's command connection; not owned (the caller closes it). Blocking reads run on
   * `duplicate()`s of it, one per following reader, closed by this buffer.
   */
  redis: Redis;
  /** Prefix of every key, so several sites (or tests) can share one Redis. */
  keyPrefix?: string;
  endTtlMs?: number;
  runningTtlMs?: number;
  maxEvents?: number;
  /** How long one blocking read waits before checking that the stream still exists. */
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

type Entry = [id: string, fields: string[]];

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
  /** The blocking connections of readers now following a stream. */
  readonly #blockers = new Set<Redis>();

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
      return guard(this.#redis.xadd(key, ...add).then(() => undefined));
    }
    this.#refreshedAt.set(messageId, now);
    return guard(
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
    await guard(script.chatdropEndStream(this.#key(messageId), this.#endTtlMs));
  }

  async *read(messageId: string, afterId: number, signal: AbortSignal): AsyncIterable<BufferedEvent> {
    const key = this.#key(messageId);
    let lastId = afterId;
    let blocker: Redis | undefined;
    const stop = () => blocker?.disconnect();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (;;) {
        if (signal.aborted) return;
        let entries: Entry[];
        if (blocker === undefined) {
          // Replay on the shared connection: a finished stream needs no connection of its own.
          entries = await guard(this.#redis.xrange(key, `(0-${lastId}`, '+', 'COUNT', BATCH));
          if (entries.length === 0) {
            if ((await guard(this.#redis.exists(key))) === 0) return;
            blocker = await this.#openBlocker(signal);
            if (blocker === undefined) return;
            continue;
          }
        } else {
          const reply = await this.#blockingRead(blocker, key, lastId, signal);
          if (reply === 'aborted') return;
          entries = reply;
          // Nothing for a while: stop when the stream is gone (expired, or its writer died).
          if (entries.length === 0 && (await guard(this.#redis.exists(key))) === 0) return;
        }
        for (const [entryId, fields] of entries) {
          if (entryId === END_ENTRY) return;
          const id = Number(entryId.slice(2));
          if (id !== lastId + 1) throw new StreamGapError(messageId, lastId + 1, id);
          const event = decodeSseData(fields[1] ?? '');
          if (event === undefined) throw new StoreUnavailableError(`Stream ${messageId} holds a malformed event ${id}`);
          yield { id, event };
          lastId = id;
          if (event.type === 'message-end' || signal.aborted) return;
        }
      }
    } finally {
      signal.removeEventListener('abort', stop);
      if (blocker !== undefined) {
        this.#blockers.delete(blocker);
        blocker.disconnect();
      }
    }
  }

  async has(messageId: string): Promise<boolean> {
    return (await guard(this.#redis.exists(this.#key(messageId)))) === 1;
  }

  async close(): Promise<void> {
    for (const blocker of this.#blockers) blocker.disconnect();
    this.#blockers.clear();
    this.#refreshedAt.clear();
  }

  /** A connection of the reader's own: XREAD BLOCK holds a connection until data arrives. */
  async #openBlocker(signal: AbortSignal): Promise<Redis | undefined> {
    const blocker = this.#redis.duplicate({ lazyConnect: true });
    blocker.on('error', () => {}); // failures surface from the command that hit them
    this.#blockers.add(blocker);
    try {
      await blocker.connect();
    } catch (error) {
      this.#blockers.delete(blocker);
      blocker.disconnect();
      if (signal.aborted) return undefined;
      throw new StoreUnavailableError(`Redis connection for a stream reader failed: ${messageOf(error)}`, { cause: error });
    }
    if (signal.aborted) {
      this.#blockers.delete(blocker);
      blocker.disconnect();
      return undefined;
    }
    return blocker;
  }

  async #blockingRead(blocker: Redis, key: string, lastId: number, signal: AbortSignal): Promise<Entry[] | 'aborted'> {
    try {
      const reply = await blocker.xread('COUNT', BATCH, 'BLOCK', this.#blockMs, 'STREAMS', key, `0-${lastId}`);
      return reply?.[0]?.[1] ?? [];
    } catch (error) {
      // Aborting disconnects the blocker, which fails its pending XREAD: a normal end.
      if (signal.aborted) return 'aborted';
      throw new StoreUnavailableError(`Redis stream read failed: ${messageOf(error)}`, { cause: error });
    }
  }

  #key(messageId: string): string {
    return `${this.#prefix}stream:${messageId}`;
  }
}

function checkReplies(replies: [Error | null, unknown][] | null): void {
  if (replies === null) throw new Error('Redis aborted the transaction');
  for (const [error] of replies) if (error) throw error;
}

/** Redis failures become the error routes already answer with 503 `upstream-unavailable`. */
async function guard<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(`Redis command failed: ${messageOf(error)}`, { cause: error });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
