import { createHash } from 'node:crypto';
import type { ChatRole } from '@chatdrop/shared';

/** The channels a hand-off can go out on, in the order they are tried. */
export const CHANNELS = ['webhook', 'email'] as const;
export type ChannelName = (typeof CHANNELS)[number];

/**
 * `pending`: waiting for its next attempt (or being attempted now, under a lease);
 * `delivered`: the channel took it; `failed`: it kept failing for the whole retry window.
 */
export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** One message of the conversation as it stood when the visitor asked for a person. */
export interface TranscriptEntry {
  role: ChatRole;
  content: string;
  /** ISO 8601. */
  createdAt: string;
}

/** What the route stores, before any delivery is tried. */
export interface NewHandoff {
  conversationId: string;
  /** When the conversation was created (epoch ms, the store's own time): the inbox lists by it. */
  conversationCreatedAt: number;
  email: string;
  note: string | null;
  /** The page the conversation started on, where the store knows it. */
  page: string | null;
  transcript: TranscriptEntry[];
  /** One delivery per channel configured when the hand-off was made. */
  channels: readonly ChannelName[];
}

/** A stored hand-off: its id is also the idempotency key every channel carries. */
export interface Handoff {
  id: string;
  conversationId: string;
  email: string;
  note: string | null;
  page: string | null;
  transcript: TranscriptEntry[];
  /** ISO 8601. */
  createdAt: string;
}

/** One channel's delivery of a hand-off, as the inbox shows it. */
export interface DeliveryStatus {
  channel: ChannelName;
  state: DeliveryState;
  /** Attempts started so far (an attempt cut short by a shutdown is not counted). */
  attempts: number;
  /** Why the last attempt failed (operator's words, never the visitor's); null when none failed. */
  lastError: string | null;
  /** While pending: when it is tried next (or when a running attempt's lease ends). ISO 8601. */
  nextAttemptAt: string | null;
  /** ISO 8601. */
  updatedAt: string;
}

/** A hand-off without its transcript (the inbox shows the conversation itself), with its deliveries. */
export interface HandoffSummary {
  id: string;
  conversationId: string;
  email: string;
  note: string | null;
  page: string | null;
  createdAt: string;
  deliveries: DeliveryStatus[];
}

/** A conversation that has a hand-off, as the inbox's listing orders it: by its creation time, then id. */
export interface HandoffConversation {
  id: string;
  /** Epoch ms. */
  createdAt: number;
}

/** How `add` treats hand-offs that come close together for one conversation. */
export interface AddRules {
  now: number;
  /** The same visitor words again (same email, note and transcript) within this: the same hand-off. */
  duplicateWindowMs: number;
  /** At most `perConversation` new hand-offs per conversation within `windowMs`. */
  perConversation: number;
  windowMs: number;
}

export type AddResult =
  | { outcome: 'stored'; id: string }
  /** An identical hand-off was stored moments ago: nothing new is stored or delivered. */
  | { outcome: 'duplicate'; id: string }
  | { outcome: 'limited'; retryAfterMs: number };

/** A delivery this instance holds the lease on; only the holder of `token` may settle it. */
export interface Claim {
  handoff: Handoff;
  channel: ChannelName;
  /** 1 for the first attempt; counts across restarts and instances. */
  attempt: number;
  token: string;
}

/**
 * The durable outbox: a hand-off is stored here first (with its transcript), and each channel's
 * delivery is then taken from here until it is delivered or has failed for good. One interface,
 * one file per backend (`sqlite-outbox.ts`, `redis-outbox.ts`), one shared suite.
 *
 * Several instances share one outbox. A delivery is attempted by one of them at a time: `claim`
 * takes a lease (the delivery's due time moves to the lease's end, so if the holder dies it is
 * due again then), and only the lease's token can settle it. A holder that outlives its lease may
 * see another instance deliver too; every channel carries the hand-off id as an idempotency key,
 * so the receiver can drop the second copy (at least once, never zero times).
 *
 * A backend that cannot be reached rejects with `StoreUnavailableError`.
 */
export interface HandoffOutbox {
  /** Stores a hand-off and one pending delivery per channel, due at once; atomic with its checks. */
  add(handoff: NewHandoff, rules: AddRules): Promise<AddResult>;
  /** Leases up to `limit` deliveries of `channel` that are due at `now`, oldest due first. */
  claim(channel: ChannelName, now: number, leaseMs: number, limit: number): Promise<Claim[]>;
  /** The channel took it. False when the lease was lost (another instance holds it now). */
  complete(claim: Claim, now: number): Promise<boolean>;
  /** Failed this time; due again at `at`. */
  retry(claim: Claim, at: number, error: string, now: number): Promise<boolean>;
  /** Failed for good. */
  fail(claim: Claim, error: string, now: number): Promise<boolean>;
  /** Given back unfinished (shutdown): due at once, and this attempt is not counted. */
  release(claim: Claim, now: number): Promise<boolean>;
  /** The earliest due time of any pending delivery of these channels (epoch ms), if any. */
  nextDue(channels: readonly ChannelName[]): Promise<number | undefined>;
  /**
   * The hand-offs of each given conversation, oldest first, each with its channels' delivery
   * states: what the support inbox marks on a conversation. Conversations without any are absent.
   */
  handoffsFor(conversationIds: readonly string[]): Promise<Map<string, HandoffSummary[]>>;
  /**
   * Hand-offs newest first, `limit` at most, created before `beforeMs` when given (the next page
   * starts before the last one's `createdAt`): the inbox's "hand-offs" filter.
   */
  recentHandoffs(limit: number, beforeMs?: number): Promise<HandoffSummary[]>;
  /**
   * The conversations that have a hand-off, newest conversation first (by creation time, then id,
   * descending: the support inbox's listing order), `limit` at most, strictly after `before` in
   * that order when given. Read from the outbox's own index, a page at a time: the inbox's
   * "hand-off" filter walks it instead of scanning every conversation.
   */
  conversationsWithHandoffs(page: { limit: number; before?: HandoffConversation }): Promise<HandoffConversation[]>;
  /**
   * Deletes every hand-off of a conversation with its deliveries and its repeat record (the
   * support inbox deleted the conversation: gone everywhere). A delivery still pending is
   * cancelled, never claimed again; an attempt already running cannot settle any more (its
   * `complete`, `retry` or `fail` answer false), so nothing comes back. Answers how many went.
   */
  deleteForConversation(conversationId: string): Promise<number>;
  /** Deletes hand-offs created before `cutoffMs` (retention), whatever their state. */
  deleteCreatedBefore(cutoffMs: number): Promise<number>;
  close(): Promise<void>;
}

/** What makes two hand-offs "the same": the visitor's words and the transcript they carry. */
export function fingerprintOf(handoff: NewHandoff): string {
  return createHash('sha256')
    .update(JSON.stringify([handoff.conversationId, handoff.email.toLowerCase(), handoff.note, handoff.transcript]))
    .digest('base64url');
}
