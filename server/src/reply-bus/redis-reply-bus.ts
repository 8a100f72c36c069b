import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import { LocalStopHandlers } from './local-stop-handlers.js';
import type { ReplyBus } from './reply-bus.js';

export interface RedisReplyBusOptions {
  /** The instance's command connection; not owned. The bus subscribes on a `duplicate()` of it. */
  redis: Redis;
  /** Prefix of the channel name, so several sites (or tests) can share one Redis. */
  keyPrefix?: string;
  /** Hears a stop handler that threw (for the log). */
  onError?: (error: unknown) => void;
}

/**
 * Several instances: each subscribes once, at start, to one channel, `<prefix>reply-stop`, whose
 * messages are message ids. One channel rather than one per reply, so a stop sent the moment a
 * reply starts cannot race its subscription; each instance ignores ids it does not run.
 * ioredis subscribes again by itself after a reconnect.
 */
export class RedisReplyBus implements ReplyBus {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #local = new LocalStopHandlers();
  readonly #onError: (error: unknown) => void;

  private constructor(options: RedisReplyBusOptions, subscriber: Redis) {
    this.#redis = options.redis;
    this.#subscriber = subscriber;
    this.#channel = `${options.keyPrefix ?? 'chatdrop:'}reply-stop`;
    this.#onError = options.onError ?? (() => {});
  }

  /** Subscribes before resolving, so no stop sent after `open` returns is missed. */
  static async open(options: RedisReplyBusOptions): Promise<RedisReplyBus> {
    const subscriber = options.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true });
    subscriber.on('error', () => {}); // reconnects by itself; failed commands report their own errors
    const bus = new RedisReplyBus(options, subscriber);
    subscriber.on('message', (channel: string, messageId: string) => {
      if (channel === bus.#channel) bus.#stopLocally(messageId);
    });
    try {
      await subscriber.connect();
      await subscriber.subscribe(bus.#channel);
    } catch (error) {
      subscriber.disconnect();
      throw new StoreUnavailableError(`Cannot subscribe to stop requests on Redis: ${messageOf(error)}`, { cause: error });
    }
    return bus;
  }

  onStop(messageId: string, handler: () => void): () => void {
    return this.#local.add(messageId, handler);
  }

  async requestStop(messageId: string): Promise<void> {
    // Running here: no round trip through Redis.
    if (this.#local.has(messageId)) {
      this.#local.stop(messageId);
      return;
    }
    try {
      await this.#redis.publish(this.#channel, messageId);
    } catch (error) {
      throw new StoreUnavailableError(`Redis publish failed: ${messageOf(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.#local.clear();
    this.#subscriber.disconnect();
  }

  #stopLocally(messageId: string): void {
    try {
      this.#local.stop(messageId);
    } catch (error) {
      this.#onError(error);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
