import type { Redis } from 'ioredis';
import { redisFailure } from '../../store/redis-failure.js';
import { LocalHandlers } from './local-handlers.js';
import type { ReplyBus } from './reply-bus.js';

export interface RedisReplyBusOptions {
  /** The instance's command connection; not owned. The bus subscribes on a `duplicate()` of it. */
  redis: Redis;
  /** Prefix of the channel names, so several sites (or tests) can share one Redis. */
  keyPrefix?: string;
  /** Hears a handler that threw (for the log). */
  onError?: (error: unknown) => void;
}

/**
 * Several instances: each subscribes once, at start, to two channels, `<prefix>reply-stop` and
 * `<prefix>reply-reader`, whose messages are message ids. One channel per kind rather than one per
 * reply, so a stop sent the moment a reply starts cannot race its subscription; each instance
 * ignores ids it does not run. ioredis subscribes again by itself after a reconnect.
 */
export class RedisReplyBus implements ReplyBus {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #stopChannel: string;
  readonly #readerChannel: string;
  readonly #stops = new LocalHandlers();
  readonly #readers = new LocalHandlers();
  readonly #onError: (error: unknown) => void;

  private constructor(options: RedisReplyBusOptions, subscriber: Redis) {
    this.#redis = options.redis;
    this.#subscriber = subscriber;
    const prefix = options.keyPrefix ?? 'chatdrop:';
    this.#stopChannel = `${prefix}reply-stop`;
    this.#readerChannel = `${prefix}reply-reader`;
    this.#onError = options.onError ?? (() => {});
  }

  /** Subscribes before resolving, so no message sent after `open` returns is missed. */
  static async open(options: RedisReplyBusOptions): Promise<RedisReplyBus> {
    const subscriber = options.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true });
    subscriber.on('error', () => {}); // reconnects by itself; failed commands report their own errors
    const bus = new RedisReplyBus(options, subscriber);
    subscriber.on('message', (channel: string, messageId: string) => {
      if (channel === bus.#stopChannel) bus.#runLocally(bus.#stops, messageId);
      else if (channel === bus.#readerChannel) bus.#runLocally(bus.#readers, messageId);
    });
    try {
      await subscriber.connect();
      await subscriber.subscribe(bus.#stopChannel, bus.#readerChannel);
    } catch (error) {
      subscriber.disconnect();
      throw redisFailure(error, 'Cannot subscribe to reply messages on Redis');
    }
    return bus;
  }

  onStop(messageId: string, handler: () => void): () => void {
    return this.#stops.add(messageId, handler);
  }

  requestStop(messageId: string): Promise<void> {
    return this.#send(this.#stops, this.#stopChannel, messageId);
  }

  onReader(messageId: string, handler: () => void): () => void {
    return this.#readers.add(messageId, handler);
  }

  announceReader(messageId: string): Promise<void> {
    return this.#send(this.#readers, this.#readerChannel, messageId);
  }

  async close(): Promise<void> {
    this.#stops.clear();
    this.#readers.clear();
    this.#subscriber.disconnect();
  }

  async #send(local: LocalHandlers, channel: string, messageId: string): Promise<void> {
    // Running here: no round trip through Redis.
    if (local.has(messageId)) {
      local.run(messageId);
      return;
    }
    try {
      await this.#redis.publish(channel, messageId);
    } catch (error) {
      throw redisFailure(error, 'Redis publish failed');
    }
  }

  #runLocally(local: LocalHandlers, messageId: string): void {
    try {
      local.run(messageId);
    } catch (error) {
      this.#onError(error);
    }
  }
}
