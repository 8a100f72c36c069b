import nodemailer, { type Transporter } from 'nodemailer';
import { DeliveryError, type HandoffChannel } from './handoff-channel.js';
import type { Handoff } from './handoff-outbox.js';
import { handoffText, readableTime, SPEAKER } from './handoff-text.js';

export interface EmailChannelOptions {
  /** `CHATDROP_HANDOFF_SMTP`: `smtp://` (STARTTLS when offered) or `smtps://`, credentials in the URL. */
  smtpUrl: string;
  to: string[];
  from: { name: string; address: string };
  /** Connect, greeting and idle timeouts of one attempt. */
  timeoutMs?: number;
}

const TIMEOUT_MS = 15_000;

/**
 * `CHATDROP_HANDOFF_SMTP` to `CHATDROP_HANDOFF_EMAIL_TO`, through nodemailer: one message per
 * hand-off with a plain-text and an HTML transcript, `Reply-To` the visitor so the team answers
 * with their mail client's Reply.
 *
 * The visitor's words never reach a header but two, both safe: the address (checked at the route
 * to be one plain `local@domain`, so no line break, comma or bracket) in `Reply-To` and `Subject`,
 * which nodemailer encodes besides. The note and the transcript go in the body only, escaped in
 * the HTML. `Message-ID` is derived from the hand-off id, so a copy sent twice (a retry after a
 * lost answer) is one message to mail clients that thread or drop duplicates.
 */
export class EmailChannel implements HandoffChannel {
  readonly name = 'email' as const;
  readonly #transport: Transporter;
  readonly #options: EmailChannelOptions;

  constructor(options: EmailChannelOptions) {
    this.#options = options;
    const timeout = options.timeoutMs ?? TIMEOUT_MS;
    // One connection per message: hand-offs are rare, and a pool would hold a socket open for nothing.
    this.#transport = nodemailer.createTransport({
      url: options.smtpUrl,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async deliver(handoff: Handoff, attempt: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new DeliveryError('stopped by shutdown');
    const { from, to } = this.#options;
    try {
      await this.#transport.sendMail({
        from,
        to,
        replyTo: { name: '', address: handoff.email },
        subject: `Chat hand-off from ${handoff.email}`,
        messageId: `<handoff-${handoff.id}@${from.address.slice(from.address.lastIndexOf('@') + 1)}>`,
        headers: { 'X-Chatdrop-Handoff-Id': handoff.id, 'X-Chatdrop-Delivery-Attempt': String(attempt) },
        text: handoffText(handoff),
        html: handoffHtml(handoff),
      });
    } catch (error) {
      // nodemailer's message names the step and the server's reply ("Invalid login: 535 ...");
      // it never repeats the password from the URL.
      const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown };
      const label = typeof responseCode === 'number' ? `SMTP ${responseCode}` : typeof code === 'string' ? code : 'SMTP';
      throw new DeliveryError(`${label}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300));
    }
  }

  async close(): Promise<void> {
    this.#transport.close();
  }
}

/** Every character that means something in HTML text or in a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The HTML part: the same content as the text part, every visitor word (and the model's)
 * escaped and shown as written (`pre-wrap`), with inline styles, which is what mail clients keep.
 */
export function handoffHtml(handoff: Handoff): string {
  const e = escapeHtml;
  const page = handoff.page === null ? '' : /^https?:\/\//i.test(handoff.page) ? `<a href="${e(handoff.page)}">${e(handoff.page)}</a>` : e(handoff.page);
  const text = 'style="white-space:pre-wrap;margin:4px 0 14px"';
  const parts = [
    '<!doctype html><html><body style="font:15px/1.5 system-ui,sans-serif;color:#1f2937;max-width:720px">',
    `<p><a href="mailto:${e(handoff.email)}">${e(handoff.email)}</a> would like a person to answer by email.</p>`,
  ];
  if (page !== '') parts.push(`<p>Page: ${page}</p>`);
  if (handoff.note !== null) parts.push(`<p style="margin-bottom:0">Note:</p><blockquote ${text}>${e(handoff.note)}</blockquote>`);
  parts.push(`<h3>Conversation ${e(handoff.conversationId)}, ${handoff.transcript.length} messages</h3>`);
  for (const entry of handoff.transcript) {
    parts.push(
      `<div style="color:#4b5563;font-size:13px"><b>${SPEAKER[entry.role]}</b> ${e(readableTime(entry.createdAt))}</div>`,
      `<div ${text}>${e(entry.content)}</div>`,
    );
  }
  parts.push('</body></html>');
  return parts.join('\n');
}
