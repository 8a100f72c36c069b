import type { ConversationStore } from '../store/conversation-store.js';
import type { ConversationSummary, InboxPage, InboxQuery } from '../store/inbox-query.js';
import type { ConversationKey, InboxHandoffs } from './inbox-inputs.js';

/** Conversations taken from the outbox's index per round, at most: a store query's worth of ids. */
const BATCH = 200;
/**
 * Conversations with a hand-off one page may look at before it answers with what it has (and a
 * cursor to go on from): other filters that almost nothing passes would otherwise walk them all.
 */
const MAX_CANDIDATES = 2_000;

/**
 * The listing narrowed to the conversations that have a hand-off. It walks the outbox's index of
 * them in the listing's own order (newest conversation first), `BATCH` at a time, and asks the
 * store which of each batch pass the other filters (rating, words, page, dates...). So a page
 * reads about as many index entries as it shows, however many hand-offs and conversations there
 * are. Past `MAX_CANDIDATES` it answers with fewer than `limit` and a cursor to go on from, as
 * the Redis listing does. Its cursors are the listing's (`<createdAt>.<id>`), also with words.
 */
export async function listHandedOff(store: ConversationStore, handoffs: InboxHandoffs, query: InboxQuery): Promise<InboxPage> {
  const { limit, cursor, ...filter } = query;
  const after = cursor === undefined ? undefined : /^(\d+)\.(.+)$/.exec(cursor);
  let before: ConversationKey | undefined = after ? { createdAt: Number(after[1]), id: after[2] as string } : undefined;
  const found: ConversationSummary[] = [];
  let seen = 0;
  // A page and one more first (when the other filters pass most, that is all it reads), then
  // twice as many each round the filters turned too many away. With words, a full batch at once:
  // a search costs about the same for a few ids as for a batch (SQLite reads the index over the
  // batch's span), and words turn most conversations away.
  let size = filter.text === undefined ? Math.min(BATCH, limit + 1) : BATCH;
  for (;;) {
    const batch = await handoffs.conversationsWithHandoffs({ limit: size, ...(before === undefined ? {} : { before }) });
    if (batch.length === 0) return { conversations: found, next: undefined };
    for (const summary of await passing(store, filter, batch)) {
      // One more than a page: there is a next page, and it starts after the last one shown.
      if (found.length === limit) return { conversations: found, next: cursorOf(found.at(-1) as ConversationSummary) };
      found.push(summary);
    }
    seen += batch.length;
    before = batch.at(-1) as ConversationKey;
    if (batch.length < size) return { conversations: found, next: undefined };
    if (seen >= MAX_CANDIDATES) return { conversations: found, next: `${before.createdAt}.${before.id}` };
    size = Math.min(BATCH, size * 2);
  }
}

/** Those of a batch that pass the other filters, newest first; every one of them (the store may answer in parts). */
async function passing(store: ConversationStore, filter: Omit<InboxQuery, 'limit' | 'cursor'>, batch: readonly ConversationKey[]): Promise<ConversationSummary[]> {
  const out: ConversationSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listConversations({ ...filter, ids: batch.map((c) => c.id), limit: Math.max(1, batch.length), ...(cursor === undefined ? {} : { cursor }) });
    out.push(...page.conversations);
    cursor = page.next;
  } while (cursor !== undefined);
  return out;
}

function cursorOf(summary: ConversationSummary): string {
  return `${Date.parse(summary.createdAt)}.${summary.id}`;
}
