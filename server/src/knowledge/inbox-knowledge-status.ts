import type { KnowledgeFailureReason } from '@chatdrop/shared';
import type { KnowledgeStatus } from '../inbox/inbox-inputs.js';
import type { FailureReason } from './crawl.js';
import type { Knowledge } from './knowledge.js';

/**
 * The knowledge index's state as the support inbox shows it beside the daily figures: pages and
 * passages indexed, whether a crawl is running, when the last one ended and the next is due, and
 * the last crawl's unreadable pages by reason (`robots`, `http-error`, `timeout`, ...).
 */
export function inboxKnowledgeStatus(knowledge: Knowledge): () => Promise<KnowledgeStatus> {
  // Named, not inferred: a field the answer's type lacks is then an error here, not a silent extra.
  return async (): Promise<KnowledgeStatus> => {
    const status = await knowledge.status();
    // Keyed by the shared reasons, which are the crawler's own: a new one is an error in the inbox
    // page until it has words for it.
    const failures: Partial<Record<KnowledgeFailureReason, number>> = {};
    const counted = Object.entries(status.lastCrawl?.failures ?? {}) as [FailureReason, number | undefined][];
    for (const [reason, count] of counted) if (count !== undefined && count > 0) failures[reason] = count;
    return {
      pages: status.pages,
      passages: status.passages,
      crawling: status.crawling,
      ...(status.lastCrawl === undefined ? {} : { lastCrawl: status.lastCrawl.endedAt }),
      ...(status.nextCrawlAt === undefined ? {} : { nextCrawl: status.nextCrawlAt }),
      failures,
    };
  };
}
