import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../test/redis-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../test/webhook-receiver.js';
import { DeliveryError } from './handoff-channel.js';
import type { Handoff } from './handoff-outbox.js';
import { WebhookChannel, type WebhookBody } from './webhook-channel.js';

const SECRET = 'whsec-test-0123456789abcdef';

const handoff: Handoff = {
  id: 'h-1234567890abcdefghijkl',
  conversationId: 'c-1234567890abcdefghijkl',
  email: 'visitor@example.com',
  note: 'Ping <!channel> & see <https://evil.example|your invoice>',
  page: 'https://help.example.com/billing',
  createdAt: '2030-01-01T09:30:00.000Z',
  transcript: [
    { role: 'user', content: 'How do I get a refund?', createdAt: '2030-01-01T09:29:00.000Z' },
    { role: 'assistant', content: 'I could not find that.\nSecond line.', createdAt: '2030-01-01T09:29:05.000Z' },
  ],
};

/**
 * The receiver's check, exactly as the README tells site owners to write it: recompute the HMAC
 * over "<timestamp>.<raw body>", compare in constant time, refuse a timestamp older than 5 min.
 */
function verify(secret: string, headers: Record<string, string | string[] | undefined>, rawBody: string, nowSeconds: number): boolean {
  const timestamp = String(headers['x-chatdrop-timestamp'] ?? '');
  const signature = String(headers['x-chatdrop-signature'] ?? '');
  const expected = 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
  const fresh = Math.abs(nowSeconds - Number(timestamp)) <= 300;
  return fresh && signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

async function receiver(script: Parameters<typeof startWebhookReceiver>[0] = []): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(script);
  open.push(started);
  return started;
}

/** A raw HTTP server for answers the receiver helper does not give. */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

describe('WebhookChannel', () => {
  it('posts the contract body with the idempotency key in the body and a header, signed over timestamp and body', async () => {
    const hook = await receiver();
    const channel = new WebhookChannel({ url: hook.url, secret: SECRET });
    await channel.deliver(handoff, 3, new AbortController().signal);

    const [request] = hook.accepted();
    const body = JSON.parse(request!.body) as WebhookBody;
    expect(body).toEqual({
      type: 'handoff',
      idempotencyKey: handoff.id,
      conversationId: handoff.conversationId,
      email: 'visitor@example.com',
      note: handoff.note,
      page: 'https://help.example.com/billing',
      transcript: handoff.transcript,
      text: expect.any(String),
    });
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      'idempotency-key': handoff.id,
      'x-chatdrop-delivery-attempt': '3',
    });
    expect(verify(SECRET, request!.headers, request!.body, Math.floor(Date.now() / 1000))).toBe(true);
    // A replay ten minutes later, or a body changed by one character, does not verify.
    expect(verify(SECRET, request!.headers, request!.body, Math.floor(Date.now() / 1000) + 600)).toBe(false);
    expect(verify(SECRET, request!.headers, request!.body.replace('refund', 'refunD'), Math.floor(Date.now() / 1000))).toBe(false);
    expect(verify('another-secret-of-length', request!.headers, request!.body, Math.floor(Date.now() / 1000))).toBe(false);
  });

  it('writes a readable text with the whole transcript in order, the visitor words escaped for chat tools', async () => {
    const hook = await receiver();
    await new WebhookChannel({ url: hook.url, secret: undefined }).deliver(handoff, 1, new AbortController().signal);
    const { text } = JSON.parse(hook.accepted()[0]!.body) as WebhookBody;
    expect(text).toBe(
      [
        'visitor@example.com would like a person to answer by email.',
        'Page: https://help.example.com/billing',
        '',
        'Note:',
        'Ping &lt;!channel&gt; &amp; see &lt;https://evil.example|your invoice&gt;',
        '',
        'Conversation c-1234567890abcdefghijkl, 2 messages:',
        '',
        'Visitor (2030-01-01 09:29 UTC):',
        'How do I get a refund?',
        '',
        'Assistant (2030-01-01 09:29 UTC):',
        'I could not find that.\nSecond line.',
      ].join('\n'),
    );
  });

  it('sends no signature without a secret', async () => {
    const hook = await receiver();
    await new WebhookChannel({ url: hook.url, secret: undefined }).deliver(handoff, 1, new AbortController().signal);
    expect(hook.accepted()[0]!.headers['x-chatdrop-signature']).toBeUndefined();
  });

  it('sends credentials in the URL as basic auth, not in the URL', async () => {
    let seen: { url?: string; auth?: string } = {};
    const url = await rawServer((req, res) => {
      seen = { url: req.url, auth: req.headers.authorization };
      req.resume().on('end', () => res.end('ok'));
    });
    const withCredentials = url.replace('http://', 'http://hook%20user:p%40ss@');
    await new WebhookChannel({ url: withCredentials, secret: undefined }).deliver(handoff, 1, new AbortController().signal);
    expect(seen).toEqual({ url: '/hook', auth: `Basic ${Buffer.from('hook user:p@ss').toString('base64')}` });
  });

  it('fails on a 500 with the status and the start of the answer', async () => {
    const hook = await receiver(['fail']);
    const attempt = new WebhookChannel({ url: hook.url, secret: SECRET }).deliver(handoff, 1, new AbortController().signal);
    await expect(attempt).rejects.toThrow(new DeliveryError('HTTP 500: receiver is down'));
  });

  it('gives up on a receiver that never answers after its timeout', async () => {
    const hook = await receiver(['hang']);
    const attempt = new WebhookChannel({ url: hook.url, secret: SECRET, timeoutMs: 300 }).deliver(handoff, 1, new AbortController().signal);
    await expect(attempt).rejects.toThrow(new DeliveryError('no answer within 300 ms'));
  });

  it('does not follow a redirect', async () => {
    const target = await receiver();
    const url = await rawServer((req, res) => req.resume().on('end', () => res.writeHead(307, { Location: target.url }).end()));
    const attempt = new WebhookChannel({ url, secret: undefined }).deliver(handoff, 1, new AbortController().signal);
    await expect(attempt).rejects.toThrow(/HTTP 307 \(redirects are not followed/);
    expect(target.requests).toHaveLength(0);
  });

  it('reads no more than the start of an endless answer, and gives up on one that trickles', async () => {
    const url = await rawServer((req, res) => {
      req.resume().on('end', () => {
        res.writeHead(502);
        // 64 MB if anyone read it all; the line breaks and controls are flattened in the error.
        const chunk = `${'<html>\n\x1b[31m'.repeat(100)}`;
        let sent = 0;
        const pump = () => {
          while (sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
          if (sent < 64 * 1024 * 1024) res.once('drain', pump);
          else res.end();
        };
        pump();
      });
    });
    const error = await new WebhookChannel({ url, secret: undefined }).deliver(handoff, 1, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(/^HTTP 502: <html> \[31m<html>/);
    expect((error as Error).message.length).toBeLessThanOrEqual(220);

    const trickle = await rawServer((req, res) => {
      req.resume().on('end', () => {
        res.writeHead(200);
        res.write('o'); // headers and one byte, then nothing: the body read is bounded by the timeout too
      });
    });
    // A 2xx with a stalled body still counts as accepted: the status is the receiver's answer.
    await new WebhookChannel({ url: trickle, secret: undefined, timeoutMs: 1_500 }).deliver(handoff, 1, new AbortController().signal);
  });

  it('says so when the receiver cannot be reached', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/hook`;
    await expect(new WebhookChannel({ url: closed, secret: undefined }).deliver(handoff, 1, new AbortController().signal)).rejects.toThrow(
      /cannot reach the webhook \(ECONNREFUSED\)/,
    );
  });

  it('stops at once when shutdown aborts the attempt', async () => {
    const hook = await receiver(['hang']);
    const stopping = new AbortController();
    const attempt = new WebhookChannel({ url: hook.url, secret: undefined }).deliver(handoff, 1, stopping.signal);
    await hook.waitForRequests(1);
    stopping.abort();
    await expect(attempt).rejects.toThrow(new DeliveryError('stopped by shutdown'));
  });
});
