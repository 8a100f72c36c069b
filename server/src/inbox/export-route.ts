import type { RequestHandler, Response } from 'express';
import { ApiError } from '../http/api-error.js';
import { requestLog } from '../http/request-id.js';
import type { ConversationStore } from '../store/conversation-store.js';
import type { InboxFilter, InboxPage, InboxQuery } from '../store/inbox-query.js';
import type { InboxHandoffs } from './inbox-inputs.js';
import { parseFilter } from './inbox-query-schema.js';
import { CSV_COLUMNS, csvRows, jsonlLine } from './transcript-export.js';

/** Conversations read per page while exporting: what is in memory at once, at most. */
const EXPORT_PAGE = 100;

const FORMATS = {
  jsonl: { type: 'application/jsonl; charset=utf-8', head: '', write: jsonlLine },
  // The byte order mark tells spreadsheet apps the file is UTF-8 (Excel guesses otherwise).
  csv: { type: 'text/csv; charset=utf-8', head: `\uFEFF${CSV_COLUMNS.join(',')}\r\n`, write: csvRows },
} as const;

export interface ExportRouteOptions {
  store: ConversationStore;
  handoffs: InboxHandoffs | undefined;
  now: () => number;
  /** A page of the listing, narrowed to the conversations with a hand-off when `handoff` is set. */
  list: (query: InboxQuery, handoff: boolean) => Promise<InboxPage>;
}

/**
 * `GET /api/inbox/export?format=jsonl|csv&<the listing's filters>`: every conversation the filter
 * shows, newest first, as a download. Streamed a page at a time with the socket's backpressure
 * respected, so 100,000 conversations never sit in memory together; a reader that leaves stops
 * the reading. A store failure midway breaks the download off rather than end a short file as if
 * it were whole. Logged with the user's name when it starts and when it ends.
 */
export function exportRoute(options: ExportRouteOptions): RequestHandler {
  const { store, handoffs } = options;
  return async (req, res) => {
    const format = req.query.format;
    if (format !== 'jsonl' && format !== 'csv') throw new ApiError('bad-request', 400, 'Export as format=jsonl or format=csv.');
    const { filter, handoff } = parseFilter(req.query);
    if (handoff && handoffs === undefined) throw new ApiError('bad-request', 400, 'Hand-offs are not set up on this server.');
    const user = res.locals.inboxUser as string;
    const log = requestLog(res);
    const described = describe(filter, handoff);
    log.info({ user, format, filter: described }, 'inbox export started');

    let gone = false;
    res.on('close', () => (gone = true));
    const { type, head, write } = FORMATS[format];
    const day = new Date(options.now()).toISOString().slice(0, 10);
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Disposition', `attachment; filename="chatdrop-conversations-${day}.${format}"`);
    res.status(200);
    let count = 0;
    try {
      if (head !== '') await send(res, head);
      let cursor: string | undefined;
      do {
        const page = await options.list({ ...filter, limit: EXPORT_PAGE, ...(cursor === undefined ? {} : { cursor }) }, handoff);
        const found = handoffs === undefined || page.conversations.length === 0 ? undefined : await handoffs.handoffsFor(page.conversations.map((c) => c.id));
        for (const summary of page.conversations) {
          if (gone) break;
          // Deleted since it was listed: nothing to export.
          const transcript = await store.getTranscript(summary.id);
          if (transcript === undefined) continue;
          await send(res, write({ transcript, handoffs: found === undefined ? undefined : (found.get(summary.id) ?? []) }));
          count++;
        }
        cursor = page.next;
      } while (cursor !== undefined && !gone);
      res.end();
      log.info({ user, format, filter: described, conversations: count, complete: !gone }, 'inbox export ended');
    } catch (error) {
      log.error({ err: error, user, format, conversations: count }, 'inbox export failed');
      res.destroy();
    }
  };
}

/** Writes a chunk and waits for the socket to take it when its buffer is full (or the reader left). */
async function send(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk) || res.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The filter for the log: which fields were set, and the search only as its length. */
function describe(filter: InboxFilter, handoff: boolean): Record<string, unknown> {
  const { text, ...rest } = filter;
  return { ...rest, ...(text === undefined ? {} : { searchChars: text.length }), ...(handoff ? { handoff } : {}) };
}
