import type { Transcript } from '../store/inbox-query.js';
import { csvRow } from './csv-cell.js';
import { handoffMark } from './handoff-mark.js';
import type { HandoffRecord } from './inbox-inputs.js';

/** One exported conversation: the transcript, and its hand-offs where hand-offs are set up. */
export interface ExportedConversation {
  transcript: Transcript;
  handoffs: readonly HandoffRecord[] | undefined;
}

/**
 * JSONL: one conversation per line, every message with what the inbox shows of it, and its
 * hand-offs (`handoff`, the listing's mark; `handoffs`, each with its channels' deliveries).
 */
export function jsonlLine({ transcript, handoffs }: ExportedConversation): string {
  const { id, createdAt, updatedAt, page, messages } = transcript;
  return `${JSON.stringify({
    id,
    createdAt,
    updatedAt,
    page,
    handoff: handoffMark(handoffs ?? []),
    handoffs,
    messages: messages.map(({ reply, ...message }) => ({ ...message, ...reply })),
  })}\n`;
}

export const CSV_COLUMNS = [
  'conversation_id',
  'conversation_started',
  'page',
  'handoff',
  'message_id',
  'role',
  'created_at',
  'status',
  'rating',
  'model',
  'upstream_model',
  'finish_reason',
  'error_code',
  'first_token_ms',
  'duration_ms',
  'input_tokens',
  'output_tokens',
  'sources',
  'content',
] as const;

/** CSV: one row per message, the conversation's fields repeated on each, so a sheet can filter. */
export function csvRows({ transcript, handoffs }: ExportedConversation): string {
  const handoff = handoffMark(handoffs ?? []);
  return transcript.messages
    .map((m) =>
      csvRow([
        transcript.id,
        transcript.createdAt,
        transcript.page,
        handoff?.state,
        m.id,
        m.role,
        m.createdAt,
        m.status,
        m.rating,
        m.reply?.model,
        m.reply?.upstreamModel,
        m.reply?.finishReason,
        m.reply?.errorCode,
        m.reply?.firstTokenMs,
        m.reply?.durationMs,
        m.reply?.inputTokens,
        m.reply?.outputTokens,
        m.sources?.map((source) => source.url).join(' '),
        m.content,
      ]),
    )
    .join('');
}
