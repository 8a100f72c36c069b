/**
 * What the inbox shows from features that live elsewhere, handed to `inboxRouter` when they
 * exist (both optional: without them the inbox simply has no hand-off marks or knowledge panel).
 */

/** A hand-off's delivery, as the hand-off outbox (server/src/handoff) knows it. */
export interface HandoffMark {
  state: 'pending' | 'delivered' | 'failed';
  /** When the visitor asked for a person (ISO 8601). */
  at: string;
}

/** The hand-off records the inbox reads: marks for a page of conversations, and the filter. */
export interface InboxHandoffs {
  /** The marks of those of these conversations that have a hand-off. */
  marksFor(conversationIds: readonly string[]): Promise<ReadonlyMap<string, HandoffMark>>;
  /** Every conversation that has a hand-off (the "hand-off" filter narrows the listing to these). */
  conversationIds(): Promise<readonly string[]>;
  /** The conversation was deleted from the inbox: forget what the outbox keeps of it. */
  forget?(conversationId: string): Promise<void>;
}

/** The knowledge index's state (server/src/knowledge), shown beside the daily figures. */
export interface KnowledgeStatus {
  pages: number;
  passages: number;
  /** When the last crawl ended (ISO 8601); absent before the first. */
  lastCrawl?: string;
  /** Pages that could not be read in the last crawl, by reason (e.g. `robots`, `http-404`, `timeout`). */
  failures: Record<string, number>;
}
