import { randomUUID } from 'node:crypto';
import { decodeSseData, type StreamEvent } from '@chatdrop/shared';
import type { Redis } from 'ioredis';
import { redisFailure } from '../../store/redis-failure.js';
import { StoreUnavailableError } from '../../store/store-unavailable-error.js';

/** What a follower hands a reader: the stream's next entries, or why there will be none. */
export type Followed =
  | { type: 'event'; id: number; event: StreamEvent }
  /** The writer marked the stream ended. */
  | { type: 'end' }
  /** The stream expired (its writer died) or the follower was closed. */
  | { type: 'gone' }
  /** Redis failed, or the stream holds what is not an event. */
  | { type: 'failed'; error: StoreUnavailableError };

export interface RedisStreamFollowerOptions {
  /** The instance's command connection; duplicated once for the blocking reads, never closed here. */
  redis: Redis;
  /** Where this follower's wake-up stream lives (`<prefix>follower:<uuid>`). */
  keyPrefix: string;
  /** Longest one blocking read waits; also how often followed streams are checked for expiry. */
  blockMs: number;
  /** The entry id of a stream's end mark (see `redis-stream-buffer.ts`). */
  endEntry: string;
}

/** One reader's place at a followed stream. */
export interface Follow {
  /**
   * The last event id the follower had handed out for this stream when the reader joined; from
   * then on the reader gets every entry after it. A reader that was behind it reads the entries
   * in between itself (XRANGE), once.
   */
  readonly joinedAfter: number;
  /** What has arrived since the last call; waits for more. Empty once `signal` aborts. */
  next(signal: AbortSignal): Promise<Followed[]>;
  /** Leaves the stream; the follower stops reading it once nobody here does. */
  close(): void;
}

/** Entries per stream per XREAD. */
const BATCH = 500;
/** The wake-up stream outlives a crashed instance by this much, then Redis drops it. */
const WAKE_TTL_MS = 60_000;

type Entry = [id: string, fields: string[]];
type XReadReply = [key: string, entries: Entry[]][] | null;

class Subscriber implements Follow {
  #queue: Followed[] = [];
  #wake: (() => void) | undefined;

  constructor(
    readonly joinedAfter: number,
    readonly close: () => void,
  ) {}

  push(item: Followed): void {
    this.#queue.push(item);
    this.#wake?.();
  }

  async next(signal: AbortSignal): Promise<Followed[]> {
    while (this.#queue.length === 0) {
      if (signal.aborted) return [];
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    const items = this.#queue;
    this.#queue = [];
    return items;
  }
}

interface FollowedStream {
  /** The entry id read up to: XREAD asks for what comes after it. */
  cursor: string;
  subscribers: Set<Subscriber>;
}

/**
 * Follows every live stream the readers on this instance wait on, through one blocking Redis
 * connection, and fans what arrives out in memory. A connection per reader would let one visitor
 * with a hundred tabs (or a script) hold a hundred Redis connections; here the count is one per
 * instance however many readers follow, and each event is read from Redis and decoded once per
 * instance, not once per reader.
 *
 * One loop issues `XREAD COUNT n BLOCK ms STREAMS <every followed key> <each cursor>` over and
 * over. When a reader starts following a stream not yet in the set, the pending XREAD must be
 * re-issued with it: the follower's own wake-up stream is part of every XREAD, and one XADD to it
 * (on the command connection) makes Redis answer the pending read at once. Data, not connection
 * state (as `CLIENT UNBLOCK` would be), so there is no race with a read still on its way, and it
 * needs no admin command a managed Redis may refuse.
 *
 * A followed stream that expires (its writer's instance died) never answers an XREAD, so every
 * `blockMs` the set is checked with EXISTS and the readers of a vanished stream are told `gone`.
 */
export class RedisStreamFollower {
  readonly #redis: Redis;
  readonly #blockMs: number;
  readonly #endEntry: string;
  readonly #wakeKey: string;
  #wakeCursor = '0-0';
  readonly #streams = new Map<string, FollowedStream>();
  #blocker: Redis | undefined;
  #running = false;
  /** True while an XREAD is out; its key set was fixed when it was sent. */
  #reading = false;
  #closed = false;
  #checkedAt = Date.now();

  constructor(options: RedisStreamFollowerOptions) {
    this.#redis = options.redis;
    this.#blockMs = options.blockMs;
    this.#endEntry = options.endEntry;
    this.#wakeKey = `${options.keyPrefix}follower:${randomUUID()}`;
  }

  /** Starts handing `key`'s entries after event `afterId` to a new reader (see `Follow`). */
  follow(key: string, afterId: number): Follow {
    let stream = this.#streams.get(key);
    const isNew = stream === undefined;
    if (stream === undefined) {
      stream = { cursor: `0-${afterId}`, subscribers: new Set() };
      this.#streams.set(key, stream);
    }
    // Entries the follower hands out are always `0-<id>`: the end mark removes the stream.
    const joinedAfter = Number(stream.cursor.slice(2));
    const followed = stream;
    const subscriber: Subscriber = new Subscriber(joinedAfter, () => {
      followed.subscribers.delete(subscriber);
      // An XREAD already out may still name the key; its entries then go to nobody.
      if (followed.subscribers.size === 0 && this.#streams.get(key) === followed) this.#streams.delete(key);
    });
    stream.subscribers.add(subscriber);
    if (this.#closed) subscriber.push({ type: 'gone' });
    else if (!this.#running) void this.#loop();
    else if (isNew && this.#reading) this.#wake();
    return subscriber;
  }

  /** How many streams are followed now (for tests and metrics). */
  get size(): number {
    return this.#streams.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#dropAll({ type: 'gone' });
    this.#blocker?.disconnect();
    this.#blocker = undefined;
    await this.#redis.del(this.#wakeKey).catch(() => {});
  }

  async #loop(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#closed && this.#streams.size > 0) {
        let reply: XReadReply;
        // Which stream each key stood for when the read went out: one left by all its readers and
        // followed afresh meanwhile has a cursor of its own, and this reply is not after it.
        let asked: Map<string, FollowedStream>;
        try {
          const blocker = await this.#connect();
          asked = new Map(this.#streams);
          const keys = [...asked.keys()];
          const cursors = [...asked.values()].map((stream) => stream.cursor);
          this.#reading = true;
          reply = (await blocker.xread(
            'COUNT', BATCH, 'BLOCK', this.#blockMs,
            'STREAMS', ...keys, this.#wakeKey, ...cursors, this.#wakeCursor,
          )) as XReadReply;
        } catch (error) {
          if (this.#closed) return;
          // Every reader fails now (the route answers 503 or ends its stream; the widget resumes
          // again). The next follow starts the loop again; ioredis reconnects by itself meanwhile.
          this.#dropAll({ type: 'failed', error: redisFailure(error, 'Redis stream read failed') });
          return;
        } finally {
          this.#reading = false;
        }
        for (const [key, entries] of reply ?? []) {
          if (key === this.#wakeKey) this.#wakeCursor = entries.at(-1)?.[0] ?? this.#wakeCursor;
          else if (this.#streams.get(key) === asked.get(key)) this.#deliver(key, entries);
        }
        if (Date.now() - this.#checkedAt >= this.#blockMs) await this.#dropExpired();
      }
    } finally {
      this.#running = false;
    }
    // A follow that came in while the loop was on its way out.
    if (!this.#closed && this.#streams.size > 0) void this.#loop();
  }

  #deliver(key: string, entries: Entry[]): void {
    const stream = this.#streams.get(key);
    if (stream === undefined || entries.length === 0) return;
    stream.cursor = entries.at(-1)![0];
    for (const [entryId, fields] of entries) {
      const item = this.#decode(entryId, fields);
      for (const subscriber of stream.subscribers) subscriber.push(item);
      if (item.type !== 'event') {
        // The end, or a stream that cannot be read on: nothing more will be handed out.
        this.#streams.delete(key);
        return;
      }
    }
  }

  #decode(entryId: string, fields: string[]): Followed {
    if (entryId === this.#endEntry) return { type: 'end' };
    const id = Number(entryId.slice(2));
    const event = decodeSseData(fields[1] ?? '');
    if (event === undefined) return { type: 'failed', error: new StoreUnavailableError(`Stream entry ${entryId} is not an event`) };
    return { type: 'event', id, event };
  }

  /** Streams whose key is gone (expired) end for their readers; one EXISTS per stream, pipelined. */
  async #dropExpired(): Promise<void> {
    this.#checkedAt = Date.now();
    const keys = [...this.#streams.keys()];
    if (keys.length === 0 || this.#blocker === undefined) return;
    const pipeline = this.#blocker.pipeline();
    for (const key of keys) pipeline.exists(key);
    const replies = await pipeline.exec().catch(() => null);
    for (const [index, key] of keys.entries()) {
      const [error, exists] = replies?.[index] ?? [null, 1];
      if (error === null && exists === 0) this.#drop(key, { type: 'gone' });
    }
  }

  #drop(key: string, item: Followed): void {
    const stream = this.#streams.get(key);
    this.#streams.delete(key);
    for (const subscriber of stream?.subscribers ?? []) subscriber.push(item);
  }

  #dropAll(item: Followed): void {
    for (const key of [...this.#streams.keys()]) this.#drop(key, item);
  }

  /** Makes the pending XREAD return now, so the next one names the new stream. */
  #wake(): void {
    this.#redis
      .multi()
      .xadd(this.#wakeKey, 'MAXLEN', '1', '*', 'w', '1')
      .pexpire(this.#wakeKey, WAKE_TTL_MS)
      .exec()
      // Redis away: the XREAD fails by itself; otherwise it returns within blockMs anyway.
      .catch(() => {});
  }

  /** The blocking connection, opened on first use and kept (ioredis reconnects it by itself). */
  async #connect(): Promise<Redis> {
    if (this.#blocker === undefined) {
      const blocker = this.#redis.duplicate({ lazyConnect: true });
      blocker.on('error', () => {}); // failures surface from the XREAD that hit them
      this.#blocker = blocker;
    }
    if (this.#blocker.status === 'wait') await this.#blocker.connect();
    return this.#blocker;
  }
}
