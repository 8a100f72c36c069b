/**
 * What the inbox shows from features that live elsewhere, handed to `inboxApiRouter` by
 * `createApp` when they exist (both optional: without them the inbox simply has no hand-off marks
 * or knowledge panel).
 */

/** One channel's delivery of a hand-off, as the hand-off outbox (server/src/handoff) knows it. */
export interface HandoffDelivery {
  channel: 'webhook' | 'email';
  /** `pending`: waiting for its next attempt (or being attempted); `failed`: retrying stopped. */
  state: 'pending' | 'delivered' | 'failed';
  /** Attempts made so far. */
  attempts: number;
  /** Why the last failed attempt failed, in words a support person understands; null when none failed. */
  problem: string | null;
  /** The same as the receiver or the network said it (`HTTP 500: ...`), for whoever fixes the channel. */
  detail: string | null;
  /** While pending: when it is tried next (ISO 8601). */
  nextAttemptAt: string | null;
  /** When its state last changed (ISO 8601). */
  updatedAt: string;
}

/** One hand-off: the visitor asked for a person to answer by email. */
export interface HandoffRecord {
  id: string;
  /** When the visitor asked (ISO 8601). */
  at: string;
  /** Where the team answers. */
  email: string;
  note: string | null;
  /** One per channel configured when it was made. */
  deliveries: HandoffDelivery[];
}

/** A conversation's hand-offs in one word for the listing (`handoff-mark.ts` says how). */
export interface HandoffMark {
  state: 'pending' | 'delivered' | 'failed';
  /** When the latest hand-off was asked for (ISO 8601). */
  at: string;
  /** How many hand-offs the conversation has. */
  count: number;
}

/** A conversation in the listing's order: by creation time (epoch ms), then id, both descending. */
export interface ConversationKey {
  id: string;
  createdAt: number;
}

/** The hand-off records the inbox reads and deletes. */
export interface InboxHandoffs {
  /** The hand-offs of those of these conversations that have any, each list oldest first. */
  handoffsFor(conversationIds: readonly string[]): Promise<ReadonlyMap<string, readonly HandoffRecord[]>>;
  /**
   * The conversations that have a hand-off, newest first in the listing's order, `limit` at most,
   * after `before` when given: the outbox's own index, which the "hand-off" filter walks a page at
   * a time (a scan of every conversation, or of every hand-off, would not stay fast).
   */
  conversationsWithHandoffs(page: { limit: number; before?: ConversationKey }): Promise<readonly ConversationKey[]>;
  /** The conversation is being deleted from the inbox: delete its hand-offs, cancelling pending deliveries. */
  forget(conversationId: string): Promise<void>;
}

/** The knowledge index's state (server/src/knowledge), shown beside the daily figures. */
export interface KnowledgeStatus {
  pages: number;
  passages: number;
  /** A crawl is running now (on this instance). */
  crawling: boolean;
  /** When the last crawl ended (ISO 8601); absent before the first. */
  lastCrawl?: string;
  /** When the next refresh is due (ISO 8601); absent before the first crawl. */
  nextCrawl?: string;
  /** Pages that could not be read in the last crawl, by reason (e.g. `robots`, `http-error`, `timeout`). */
  failures: Record<string, number>;
}
