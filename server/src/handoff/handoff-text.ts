import type { Handoff, TranscriptEntry } from './handoff-outbox.js';

/** How a transcript names its speakers, for the team (English: the team's tools are the operator's). */
export const SPEAKER: Record<TranscriptEntry['role'], string> = { user: 'Visitor', assistant: 'Assistant' };

/** `2030-01-01 09:30 UTC`: readable in a chat tool or a mail client, whatever the team's zone. */
export function readableTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The hand-off as plain text: who asks, where, their note, then the whole transcript in order.
 * The email's text part, and (escaped for Slack) the webhook's `text`.
 */
export function handoffText(handoff: Handoff): string {
  const lines = [`${handoff.email} would like a person to answer by email.`];
  if (handoff.page !== null) lines.push(`Page: ${handoff.page}`);
  if (handoff.note !== null) lines.push('', 'Note:', handoff.note);
  lines.push('', `Conversation ${handoff.conversationId}, ${handoff.transcript.length} messages:`);
  for (const entry of handoff.transcript) {
    lines.push('', `${SPEAKER[entry.role]} (${readableTime(entry.createdAt)}):`, entry.content);
  }
  return lines.join('\n');
}

/**
 * Slack's incoming webhooks read `text` as mrkdwn, where `<...>` makes a link or a mention
 * (`<!channel>` pings everyone) and `&` starts an entity; Slack asks senders to escape exactly
 * these three (api.slack.com/reference/surfaces/formatting#escaping). A visitor's words then show
 * as typed and cannot ping the team or dress up a link.
 */
export function escapeForChat(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}
