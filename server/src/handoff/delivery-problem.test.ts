import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectLinear, repeat } from '../test/linear-time.js';
import { freePort } from '../test/redis-server.js';
import { SMTP_PASSWORD, startSmtpReceiver, type SmtpReceiver } from '../test/smtp-receiver.js';
import { startWebhookReceiver, type WebhookReceiver } from '../test/webhook-receiver.js';
import { deliveryProblem } from './delivery-problem.js';
import { EmailChannel } from './email-channel.js';
import { DeliveryError, type HandoffChannel } from './handoff-channel.js';
import type { Handoff } from './handoff-outbox.js';
import { WebhookChannel } from './webhook-channel.js';

const handoff: Handoff = {
  id: 'h-problem-0123456789abcdef',
  conversationId: 'c-problem-0123456789abcdef',
  email: 'visitor@example.com',
  note: null,
  page: null,
  transcript: [{ role: 'user', content: 'Help', createdAt: '2030-01-01T00:00:00.000Z' }],
  createdAt: '2030-01-01T00:00:01.000Z',
};

/** The error a real channel keeps for the inbox when it cannot deliver. */
async function errorOf(channel: HandoffChannel): Promise<string> {
  try {
    await channel.deliver(handoff, 1, new AbortController().signal);
  } catch (error) {
    if (error instanceof DeliveryError) return error.message;
    throw error;
  } finally {
    await channel.close?.();
  }
  throw new Error('delivered');
}

describe('a failed delivery in a support person\'s words', () => {
  let hook: WebhookReceiver;
  let mail: SmtpReceiver;
  beforeAll(async () => {
    hook = await startWebhookReceiver(['fail', 'hang']);
    mail = await startSmtpReceiver({ refuse: 1 });
  });
  afterAll(async () => {
    await hook?.close();
    await mail?.close();
  });

  it('says what went wrong with the webhook, from what the real channel reports', async () => {
    const refused = await errorOf(new WebhookChannel({ url: hook.url, secret: undefined }));
    expect(refused).toBe('HTTP 500: receiver is down');
    expect(deliveryProblem('webhook', refused)).toBe("The webhook's server had a problem (HTTP 500).");

    const slow = await errorOf(new WebhookChannel({ url: hook.url, secret: undefined, timeoutMs: 300 }));
    expect(deliveryProblem('webhook', slow)).toBe('The webhook did not answer in time.');

    const closed = await errorOf(new WebhookChannel({ url: `http://127.0.0.1:${await freePort()}/hook`, secret: undefined }));
    expect(closed).toMatch(/^cannot reach the webhook \(ECONNREFUSED/);
    expect(deliveryProblem('webhook', closed)).toBe('The webhook could not be reached: nothing accepted the connection.');
  });

  it('says what went wrong with the email, from what the real channel reports', async () => {
    const options = { to: ['team@example.com'], from: { name: 'Chatdrop', address: 'help@example.com' }, timeoutMs: 5_000 };
    const busy = await errorOf(new EmailChannel({ ...options, smtpUrl: mail.url }));
    expect(busy).toMatch(/^SMTP 451: /);
    expect(deliveryProblem('email', busy)).toBe('The mail server asked Chatdrop to try again later (SMTP 451).');

    const login = await errorOf(new EmailChannel({ ...options, smtpUrl: mail.url.replace(SMTP_PASSWORD, 'wrong-password') }));
    expect(login).toMatch(/^SMTP 535: /);
    expect(deliveryProblem('email', login)).toBe("The mail server did not accept Chatdrop's login (SMTP 535): check CHATDROP_HANDOFF_SMTP.");

    const closed = await errorOf(new EmailChannel({ ...options, smtpUrl: `smtp://127.0.0.1:${await freePort()}` }));
    expect(deliveryProblem('email', closed)).toBe('The mail server could not be reached.');
  });

  it('names the setting to look at where one is wrong', () => {
    const cases: [Parameters<typeof deliveryProblem>[0], string, string][] = [
      ['webhook', 'HTTP 301 (redirects are not followed: use the final URL)', 'The webhook address sends Chatdrop elsewhere (HTTP 301); CHATDROP_HANDOFF_WEBHOOK needs the final address.'],
      ['webhook', 'HTTP 401: unauthorized', 'The webhook refused Chatdrop (HTTP 401): its address, login or secret may be wrong.'],
      ['webhook', 'HTTP 404: not found', 'Nothing answers at the webhook address (HTTP 404): check CHATDROP_HANDOFF_WEBHOOK.'],
      ['webhook', 'HTTP 429', 'The webhook was busy and asked Chatdrop to wait (HTTP 429).'],
      ['webhook', 'HTTP 422: bad body', 'The webhook refused the hand-off (HTTP 422).'],
      ['webhook', 'cannot reach the webhook (ENOTFOUND)', 'The webhook could not be reached: its host name was not found.'],
      ['webhook', 'cannot reach the webhook (UNABLE_TO_VERIFY_LEAF_SIGNATURE)', 'The webhook could not be reached securely: its HTTPS certificate was not accepted.'],
      ['webhook', 'cannot reach the webhook (EHOSTUNREACH)', 'The webhook could not be reached.'],
      ['webhook', 'cannot reach the webhook (ERR_TLS_CERT_ALTNAME_INVALID)', 'The webhook could not be reached securely: its HTTPS certificate was not accepted.'],
      ['webhook', 'unexpected: boom', 'The webhook could not be sent the hand-off.'],
      ['email', 'SMTP 550: 5.1.1 no such user', 'The mail server refused the email (SMTP 550): check the addresses in CHATDROP_HANDOFF_EMAIL_TO and CHATDROP_HANDOFF_EMAIL_FROM.'],
      ['email', 'SMTP 535: 5.7.8 bad credentials', "The mail server did not accept Chatdrop's login (SMTP 535): check CHATDROP_HANDOFF_SMTP."],
      ['email', 'EDNS: getaddrinfo ENOTFOUND mail.example', 'The mail server could not be reached: its host name was not found.'],
      ['email', 'ETIMEDOUT: Greeting never received', 'The mail server did not answer in time.'],
      ['email', 'stopped by shutdown', 'Chatdrop was restarting during the attempt.'],
      ['email', 'something new', 'The email could not be sent.'],
    ];
    for (const [channel, error, words] of cases) expect(deliveryProblem(channel, error), error).toBe(words);
  });

  it('reads an error of any length in linear time', () => {
    expectLinear('webhook cause', (n) => `cannot reach the webhook (${repeat('E', n)}`, (text) => deliveryProblem('webhook', text));
    expectLinear('webhook answer', (n) => `HTTP 500: ${repeat('a(', n)}`, (text) => deliveryProblem('webhook', text));
    expectLinear('smtp code', (n) => `${repeat('E', n)}: x`, (text) => deliveryProblem('email', text));
  });
});
