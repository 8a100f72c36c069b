import type { Store as RateLimitStore } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createRateLimitStore } from '../limits/rate-limit-store.js';
import { EmailChannel } from './email-channel.js';
import { DEFAULT_PER_ADDRESS_PER_HOUR } from './handoff-config.js';
import type { HandoffChannel } from './handoff-channel.js';
import { HandoffDispatcher, type DispatcherOptions } from './handoff-dispatcher.js';
import type { ChannelName, HandoffOutbox } from './handoff-outbox.js';
import { RedisOutbox } from './redis-outbox.js';
import { SqliteOutbox } from './sqlite-outbox.js';
import { WebhookChannel } from './webhook-channel.js';

/** The hand-off feature's parts: what the route stores into, and what delivers from it. */
export interface HandoffService {
  outbox: HandoffOutbox;
  dispatcher: HandoffDispatcher;
  /** The channels configured on this instance; each new hand-off gets one delivery per channel. */
  channels: readonly ChannelName[];
  /** The per-address hand-off counter's store: Redis when shared, the limiter's memory otherwise. */
  rateLimitStore: RateLimitStore | undefined;
  /** Hand-off requests per hour per client address. */
  perAddressPerHour: number;
}

export interface CreateHandoffOptions {
  config: Config;
  logger: Logger;
  /** The instance's Redis (`REDIS_URL`): the outbox and the per-address count live there. */
  redis?: Redis;
  /** Another outbox (tests); otherwise Redis when given, else the SQLite file `CHATDROP_DB`. */
  outbox?: HandoffOutbox;
  /** Clock, timers and tunings for the dispatcher (tests). */
  dispatcher?: Partial<Omit<DispatcherOptions, 'outbox' | 'channels' | 'logger'>>;
  /** Channels to use instead of the configured ones (tests). */
  channels?: HandoffChannel[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Builds the hand-off feature from the configuration, or answers undefined when no channel is
 * configured (then `/api/config` says nothing of it and `POST /api/handoff` is a 404).
 * The caller starts the dispatcher once the app is up and stops it at shutdown.
 */
export function createHandoff(options: CreateHandoffOptions): HandoffService | undefined {
  const { config, redis } = options;
  const settings = config.handoff;
  if (settings === undefined && options.channels === undefined) return undefined;
  const channels: HandoffChannel[] = options.channels ?? [];
  if (options.channels === undefined && settings !== undefined) {
    if (settings.webhook !== undefined) channels.push(new WebhookChannel(settings.webhook));
    if (settings.email !== undefined) channels.push(new EmailChannel(settings.email));
  }
  const outbox =
    options.outbox ??
    (redis !== undefined
      ? new RedisOutbox({ redis, retentionMs: config.retentionDays * DAY_MS })
      : new SqliteOutbox({ path: config.dbPath }));
  const dispatcher = new HandoffDispatcher({
    outbox,
    channels,
    logger: options.logger.child({ component: 'handoff' }),
    ...options.dispatcher,
  });
  return {
    outbox,
    dispatcher,
    channels: channels.map((channel) => channel.name),
    rateLimitStore: redis === undefined ? undefined : createRateLimitStore(redis, 'chatdrop:handoff-rate:'),
    perAddressPerHour: settings?.perAddressPerHour ?? DEFAULT_PER_ADDRESS_PER_HOUR,
  };
}
