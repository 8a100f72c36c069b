/**
 * What the inbox shows from features that live elsewhere, handed to `inboxApiRouter` by
 * `createApp` when they exist (both optional: without them the inbox simply has no hand-off marks
 * or knowledge panel).
 */
import type { HandoffRecord } from '@chatdrop/shared';

// What they hand over is what the inbox's answers carry, so their one definition is the answers'.
export type { HandoffDelivery, HandoffMark, HandoffRecord, KnowledgeStatus } from '@chatdrop/shared';

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
