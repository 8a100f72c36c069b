import type { ChannelName } from './handoff-outbox.js';

/**
 * A delivery's last error (`DeliveryError`'s words, as webhook-channel.ts and email-channel.ts
 * write them: `HTTP 500: ...`, `no answer within 10000 ms`, `cannot reach the webhook (ECONNREFUSED)`,
 * `SMTP 451: ...`, `ECONNECTION: ...`) said for a support person: what went wrong and, where it is
 * a setting, which one to look at. The original stays beside it for whoever fixes the channel.
 * Reads only the start of the text, anchored, so any error costs the same.
 */
export function deliveryProblem(channel: ChannelName, error: string): string {
  return channel === 'webhook' ? webhookProblem(error) : emailProblem(error);
}

const RESTARTED = 'Chatdrop was restarting during the attempt.';

function webhookProblem(error: string): string {
  const http = /^HTTP (\d{3})/.exec(error);
  if (http) {
    const status = Number(http[1]);
    if (status >= 300 && status < 400) return `The webhook address sends Chatdrop elsewhere (HTTP ${status}); CHATDROP_HANDOFF_WEBHOOK needs the final address.`;
    if (status === 401 || status === 403) return `The webhook refused Chatdrop (HTTP ${status}): its address, login or secret may be wrong.`;
    if (status === 404 || status === 410) return `Nothing answers at the webhook address (HTTP ${status}): check CHATDROP_HANDOFF_WEBHOOK.`;
    if (status === 408 || status === 429) return `The webhook was busy and asked Chatdrop to wait (HTTP ${status}).`;
    if (status >= 500) return `The webhook's server had a problem (HTTP ${status}).`;
    return `The webhook refused the hand-off (HTTP ${status}).`;
  }
  if (error.startsWith('no answer within')) return 'The webhook did not answer in time.';
  if (error.startsWith('cannot reach the webhook')) {
    const cause = /^cannot reach the webhook \((\w+)/.exec(error)?.[1] ?? '';
    if (cause === 'ENOTFOUND' || cause === 'EAI_AGAIN') return 'The webhook could not be reached: its host name was not found.';
    if (cause === 'ECONNREFUSED') return 'The webhook could not be reached: nothing accepted the connection.';
    if (/CERT|SSL|TLS|SIGNATURE|SELF_SIGNED/.test(cause)) return 'The webhook could not be reached securely: its HTTPS certificate was not accepted.';
    return 'The webhook could not be reached.';
  }
  if (error.startsWith('stopped by shutdown')) return RESTARTED;
  return 'The webhook could not be sent the hand-off.';
}

function emailProblem(error: string): string {
  const smtp = /^SMTP (\d{3})/.exec(error);
  if (smtp) {
    const code = Number(smtp[1]);
    if (code === 535 || code === 534 || code === 530) return `The mail server did not accept Chatdrop's login (SMTP ${code}): check CHATDROP_HANDOFF_SMTP.`;
    if (code >= 500) return `The mail server refused the email (SMTP ${code}): check the addresses in CHATDROP_HANDOFF_EMAIL_TO and CHATDROP_HANDOFF_EMAIL_FROM.`;
    return `The mail server asked Chatdrop to try again later (SMTP ${code}).`;
  }
  // nodemailer's error codes (https://nodemailer.com/errors/).
  const code = /^([A-Z]+):/.exec(error)?.[1];
  if (code === 'EAUTH') return "The mail server did not accept Chatdrop's login: check CHATDROP_HANDOFF_SMTP.";
  if (code === 'EDNS') return "The mail server could not be reached: its host name was not found.";
  if (code === 'ETIMEDOUT') return 'The mail server did not answer in time.';
  if (code === 'ETLS') return 'The mail server could not be reached securely (TLS failed).';
  if (code === 'ECONNECTION' || code === 'ESOCKET') return 'The mail server could not be reached.';
  if (error.startsWith('stopped by shutdown')) return RESTARTED;
  return 'The email could not be sent.';
}
