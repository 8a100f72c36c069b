import type { Rating, StoredMessage } from './conversation-store.js';
import type { ReplyMeta, TranscriptMessage } from './inbox-query.js';
import { publicMessage } from './public-message.js';

/**
 * A stored message as the inbox shows it (`getTranscript`, every backend): the visitor's fields
 * (`publicMessage`), then its rating and, for a finished reply, its metadata, each only when there.
 *
 * The inbox's answer and its JSONL export have always listed `status` before `createdAt`; that
 * order is kept, so an export stays byte for byte what it was.
 */
export function transcriptMessage(message: StoredMessage, rating: Rating | undefined, reply: ReplyMeta | undefined): TranscriptMessage {
  const { id, role, content, createdAt, status, ...rest } = publicMessage(message);
  const out: TranscriptMessage = { id, role, content, status, createdAt, ...rest };
  if (rating !== undefined) out.rating = rating;
  if (reply !== undefined) out.reply = reply;
  return out;
}
