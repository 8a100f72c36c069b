import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../test/redis-server.js';
import { SMTP_PASSWORD, startSmtpReceiver, type SmtpReceiver } from '../test/smtp-receiver.js';
import { EmailChannel } from './email-channel.js';
import { DeliveryError } from './handoff-channel.js';
import type { Handoff } from './handoff-outbox.js';

const NOTE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes" \'too\'\r\nBcc: evil@example.net\r\n\r\nInjected body';

const handoff: Handoff = {
  id: 'h-1234567890abcdefghijkl',
  conversationId: 'c-1234567890abcdefghijkl',
  email: 'visitor@example.com',
  note: NOTE,
  page: 'https://help.example.com/billing?x="><script>',
  createdAt: '2030-01-01T09:30:00.000Z',
  transcript: [
    { role: 'user', content: 'How do I get a <b>refund</b>?', createdAt: '2030-01-01T09:29:00.000Z' },
    { role: 'assistant', content: 'I could not find that in our help pages.', createdAt: '2030-01-01T09:29:05.000Z' },
    { role: 'user', content: 'Ünïcödé 日本 🎉\nsecond line', createdAt: '2030-01-01T09:29:30.000Z' },
  ],
};

const team = { to: ['team@example.com', 'lead@example.com'], from: { name: 'Example Help', address: 'help@example.com' } };

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

async function smtp(refuse = 0): Promise<SmtpReceiver> {
  const receiver = await startSmtpReceiver({ refuse });
  open.push(receiver);
  return receiver;
}

function channel(smtpUrl: string): EmailChannel {
  const made = new EmailChannel({ smtpUrl, ...team, timeoutMs: 5_000 });
  open.push(made);
  return made;
}

describe('EmailChannel', () => {
  it('mails the team the whole transcript in order, text and HTML, Reply-To the visitor', async () => {
    const receiver = await smtp();
    await channel(receiver.url).deliver(handoff, 1, new AbortController().signal);
    const [mail] = await receiver.waitForMail(1);

    expect(mail!.envelope).toEqual({ from: 'help@example.com', to: ['team@example.com', 'lead@example.com'] });
    const { parsed } = mail!;
    expect(parsed.from?.value).toEqual([{ name: 'Example Help', address: 'help@example.com' }]);
    expect(parsed.replyTo?.value).toEqual([{ name: '', address: 'visitor@example.com' }]);
    expect(parsed.subject).toBe('Chat hand-off from visitor@example.com');
    expect(parsed.messageId).toBe('<handoff-h-1234567890abcdefghijkl@example.com>');
    expect(parsed.headers.get('x-chatdrop-handoff-id')).toBe(handoff.id);

    const text = parsed.text ?? '';
    const order = handoff.transcript.map((m) => text.indexOf(m.content));
    expect(order.every((at) => at > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(text).toContain('Visitor (2030-01-01 09:29 UTC):\nHow do I get a <b>refund</b>?');
    expect(text).toContain(NOTE.replace(/\r\n/g, '\n'));

    const html = parsed.html || '';
    for (const entry of handoff.transcript) expect(html).toContain(entry.content.replace('<b>', '&#60;b&#62;').replace('</b>', '&#60;/b&#62;'));
    expect(html.indexOf('How do I get')).toBeLessThan(html.indexOf('I could not find'));
    expect(html.indexOf('I could not find')).toBeLessThan(html.indexOf('Ünïcödé'));
  });

  it('escapes a note full of HTML in the HTML part, and lets nothing of it into the headers', async () => {
    const receiver = await smtp();
    await channel(receiver.url).deliver(handoff, 1, new AbortController().signal);
    const [mail] = await receiver.waitForMail(1);
    const html = mail!.parsed.html || '';

    expect(html).not.toMatch(/<script|<img|onerror=alert\(1\)>/i);
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#60;img src=x onerror=alert(1)&#62; &#38; &#34;quotes&#34; &#39;too&#39;');
    // The page is a link whose attribute cannot be closed early.
    expect(html).toContain('<a href="https://help.example.com/billing?x=&#34;&#62;&#60;script&#62;">');

    // "Bcc: evil" stayed in the body: no such header, no such recipient.
    const headerBlock = mail!.raw.slice(0, mail!.raw.indexOf('\r\n\r\n'));
    expect(headerBlock).not.toMatch(/^bcc:/im);
    expect(headerBlock).not.toContain('evil@example.net');
    expect(mail!.parsed.bcc).toBeUndefined();
    expect(mail!.envelope.to).not.toContain('evil@example.net');
  });

  it('fails with the server answer when the mail server refuses for now', async () => {
    const receiver = await smtp(1);
    const attempt = channel(receiver.url).deliver(handoff, 1, new AbortController().signal);
    await expect(attempt).rejects.toThrow(DeliveryError);
    await expect(attempt).rejects.toThrow(/^SMTP 451: .*Mailbox busy/);
    expect(receiver.refused).toBe(1);
  });

  it('fails on a wrong login without repeating the password', async () => {
    const receiver = await smtp();
    const wrong = receiver.url.replace(SMTP_PASSWORD, 'wrong-password-123');
    const error = await channel(wrong).deliver(handoff, 1, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(/^SMTP 535/);
    expect((error as Error).message).not.toContain('wrong-password-123');
  });

  it('fails when the mail server is down', async () => {
    const error = await channel(`smtp://127.0.0.1:${await freePort()}`).deliver(handoff, 1, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
  });
});
