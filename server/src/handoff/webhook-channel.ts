import { createHmac } from 'node:crypto';
import { DeliveryError, type HandoffChannel } from './handoff-channel.js';
import type { Handoff, TranscriptEntry } from './handoff-outbox.js';
import { escapeForChat, handoffText } from './handoff-text.js';

/** The webhook's JSON body: the contract's fields, plus the idempotency key. */
export interface WebhookBody {
  type: 'handoff';
  idempotencyKey: string;
  conversationId: string;
  email: string;
  note: string | null;
  page: string | null;
  transcript: TranscriptEntry[];
  /** A readable summary a chat tool's incoming webhook can post as is (Slack-escaped). */
  text: string;
}

export interface WebhookChannelOptions {
  url: string;
  /** `CHATDROP_HANDOFF_WEBHOOK_SECRET`; unset: no signature header. */
  secret: string | undefined;
  /** The whole exchange, connect to the last byte read. */
  timeoutMs?: number;
  /** Unix seconds; injected by tests. */
  now?: () => number;
}

const TIMEOUT_MS = 10_000;
/** Of the receiver's answer, only this much is read (for the error kept when it refuses). */
const MAX_ANSWER_BYTES = 512;

/**
 * `CHATDROP_HANDOFF_WEBHOOK`: one JSON POST per hand-off. The URL is the operator's, but what
 * answers there is still treated as hostile: one timeout covers the whole exchange, at most
 * 512 bytes of the answer are read, redirects are not followed (a POST turned into a GET
 * elsewhere is not a delivery), and only a 2xx counts as delivered.
 *
 * Signing (with a secret): `X-Chatdrop-Timestamp: <unix seconds>` and
 * `X-Chatdrop-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, as
 * Stripe and Slack sign theirs: the timestamp is inside what is signed, so a receiver that
 * refuses old timestamps refuses replays. Every attempt is signed afresh.
 */
export class WebhookChannel implements HandoffChannel {
  readonly name = 'webhook' as const;
  readonly #url: string;
  readonly #secret: string | undefined;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  readonly #authorization: string | undefined;

  constructor(options: WebhookChannelOptions) {
    // fetch refuses a URL with credentials in it; a receiver behind basic auth gets them as the
    // Authorization header instead.
    const url = new URL(options.url);
    if (url.username !== '' || url.password !== '') {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      this.#authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      url.username = url.password = '';
    }
    this.#url = url.href;
    this.#secret = options.secret;
    this.#timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  async deliver(handoff: Handoff, attempt: number, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify(webhookBody(handoff));
    const timestamp = String(this.#now());
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Chatdrop-Handoff/1',
      'Idempotency-Key': handoff.id,
      'X-Chatdrop-Delivery-Attempt': String(attempt),
      'X-Chatdrop-Timestamp': timestamp,
    };
    if (this.#authorization !== undefined) headers.Authorization = this.#authorization;
    if (this.#secret !== undefined) headers['X-Chatdrop-Signature'] = signature(this.#secret, timestamp, body);

    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)]);
    let res: Response;
    try {
      res = await fetch(this.#url, { method: 'POST', headers, body, redirect: 'manual', signal: deadline });
    } catch (error) {
      throw new DeliveryError(signal.aborted ? 'stopped by shutdown' : deadline.aborted ? `no answer within ${this.#timeoutMs} ms` : `cannot reach the webhook (${causeOf(error)})`);
    }
    const answer = await readSome(res, deadline);
    if (res.status >= 200 && res.status < 300) return;
    const hint = res.status >= 300 && res.status < 400 ? ' (redirects are not followed: use the final URL)' : '';
    throw new DeliveryError(`HTTP ${res.status}${hint}${answer === '' ? '' : `: ${answer}`}`);
  }
}

/** The body the receiver gets; `note` and `page` are null when absent. */
export function webhookBody(handoff: Handoff): WebhookBody {
  return {
    type: 'handoff',
    idempotencyKey: handoff.id,
    conversationId: handoff.conversationId,
    email: handoff.email,
    note: handoff.note,
    page: handoff.page,
    transcript: handoff.transcript,
    text: escapeForChat(handoffText(handoff)),
  };
}

/** `sha256=<hex>` over `<timestamp>.<raw body>`; the README shows how a receiver checks it. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The start of the answer, as one short printable line; the rest is never read. */
async function readSome(res: Response, signal: AbortSignal): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ANSWER_BYTES && !signal.aborted) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // Cut off or timed out mid-answer: the status is what counts.
  } finally {
    reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
  return text.replace(/[\0-\x1f\x7f\s]+/g, ' ').trim().slice(0, 200);
}

function causeOf(error: unknown): string {
  // fetch's own message is "fetch failed"; the reason (ECONNREFUSED, a TLS error, "bad port") is its cause.
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
