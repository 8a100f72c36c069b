import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isApiErrorBody, type Conversation } from '@chatdrop/shared';
import { parseConfig, type Env } from '../config.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { startSmtpReceiver, type SmtpReceiver } from '../test/smtp-receiver.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startWebhookReceiver, type WebhookBehaviour, type WebhookReceiver } from '../test/webhook-receiver.js';
import { EmailChannel } from './email-channel.js';
import { createHandoff, type HandoffService } from './handoff-service.js';
import { WebhookChannel, type WebhookBody } from './webhook-channel.js';

const SECRET = 'route-test-secret-0123456789';

let upstream: MockUpstream;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Started {
  server: TestServer;
  handoff: HandoffService | undefined;
}

/**
 * The real app with the hand-off feature built as main.ts builds it (`createHandoff` from the
 * parsed environment), on a temp SQLite file, with short retry steps so a test sees several
 * attempts in well under a second of backoff.
 */
async function start(env: Env, options: { webhookTimeoutMs?: number } = {}): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'chatdrop-handoff-'));
  const dbPath = join(dir, 'chatdrop.db');
  const config = parseConfig({ CHATDROP_DB: dbPath, ...env });
  const settings = config.handoff;
  const handoff = createHandoff({
    config,
    logger: pino({ level: 'silent' }),
    dispatcher: { baseDelayMs: 40, maxDelayMs: 200, pollMs: 200 },
    channels:
      settings === undefined
        ? undefined
        : [
            ...(settings.webhook ? [new WebhookChannel({ ...settings.webhook, timeoutMs: options.webhookTimeoutMs ?? 5_000 })] : []),
            ...(settings.email ? [new EmailChannel({ ...settings.email, timeoutMs: 5_000 })] : []),
          ],
  });
  const server = await startTestServer({ upstream, env, dbPath, shared: { handoff } });
  handoff?.dispatcher.start();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => server.close());
  cleanups.push(async () => {
    await handoff?.dispatcher.stop(0);
    await handoff?.outbox.close();
  });
  return { server, handoff };
}

async function webhook(script: WebhookBehaviour[] = []): Promise<WebhookReceiver> {
  const receiver = await startWebhookReceiver(script);
  cleanups.push(() => receiver.close());
  return receiver;
}

async function smtp(refuse = 0): Promise<SmtpReceiver> {
  const receiver = await startSmtpReceiver({ refuse });
  cleanups.push(() => receiver.close());
  return receiver;
}

/** One chat turn through the real route and the mock upstream; answers the conversation id. */
async function chat(url: string, message: string, conversationId?: string): Promise<string> {
  upstream.script({ kind: 'deltas', deltas: [`Answer to: `, message] });
  const { events } = await readEvents(await postChat(url, { message, conversationId }));
  const start = events.find((e) => e.event.type === 'message-start')?.event;
  if (start?.type !== 'message-start') throw new Error('no message-start');
  return start.conversationId;
}

describe('POST /api/handoff', () => {
  it('is not offered without a channel: no handoff in /api/config, and 404', async () => {
    const { server } = await start({});
    const config = await request(server.url).get('/api/config');
    expect(config.body.handoff).toBeUndefined();
    const id = await chat(server.url, 'hello');
    const res = await request(server.url).post('/api/handoff').send({ conversationId: id, email: 'visitor@example.com' });
    expect(res.status).toBe(404);
    expect(isApiErrorBody(res.body)).toBe(true);
  });

  it('stores the hand-off (202), then the webhook and the mailbox get the whole transcript, after a 500, a timeout and a refusal', async () => {
    const hook = await webhook(['fail', 'hang']);
    const mail = await smtp(1);
    const { server } = await start(
      {
        CHATDROP_HANDOFF_WEBHOOK: hook.url,
        CHATDROP_HANDOFF_WEBHOOK_SECRET: SECRET,
        CHATDROP_HANDOFF_SMTP: mail.url,
        CHATDROP_HANDOFF_EMAIL_TO: 'team@example.com',
      },
      { webhookTimeoutMs: 1_500 },
    );
    expect((await request(server.url).get('/api/config')).body.handoff).toBe(true);

    const id = await chat(server.url, 'How do I get a refund?');
    await chat(server.url, 'It was an annual plan, bought 3 days ago.', id);
    const res = await request(server.url)
      .post('/api/handoff')
      .send({ conversationId: id, email: '  visitor@example.com ', note: 'Please answer <b>soon</b> & thanks' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9_-]{22,}$/) });

    const stored = (await request(server.url).get(`/api/conversations/${id}`)).body as Conversation;
    const expected = stored.messages.map((m) => ({ role: m.role, content: m.content, createdAt: m.createdAt }));
    expect(expected).toHaveLength(4);

    const [delivered] = await hook.waitForAccepted(1);
    expect(hook.requests.map((r) => r.behaviour)).toEqual(['fail', 'hang', 'accept']);
    const body = JSON.parse(delivered!.body) as WebhookBody;
    expect(body).toMatchObject({
      type: 'handoff',
      idempotencyKey: res.body.id,
      conversationId: id,
      email: 'visitor@example.com',
      note: 'Please answer <b>soon</b> & thanks',
      page: null,
      transcript: expected,
    });
    const timestamp = delivered!.headers['x-chatdrop-timestamp'] as string;
    expect(delivered!.headers['x-chatdrop-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${delivered!.body}`).digest('hex')}`);

    const [message] = await mail.waitForMail(1);
    expect(mail.refused).toBe(1);
    expect(message!.envelope.to).toEqual(['team@example.com']);
    expect(message!.parsed.replyTo?.value[0]?.address).toBe('visitor@example.com');
    const text = message!.parsed.text ?? '';
    let at = 0;
    for (const entry of expected) {
      const found = text.indexOf(entry.content, at);
      expect(found, `"${entry.content}" in order in the mail`).toBeGreaterThan(at);
      at = found;
    }
    expect(message!.parsed.html).toContain('Please answer &#60;b&#62;soon&#60;/b&#62; &#38; thanks');
  });

  it('carries the page the conversation started on, without query or fragment, in the webhook body and the email', async () => {
    const hook = await webhook();
    const mail = await smtp();
    const { server } = await start({ CHATDROP_HANDOFF_WEBHOOK: hook.url, CHATDROP_HANDOFF_SMTP: mail.url, CHATDROP_HANDOFF_EMAIL_TO: 'team@example.com' });
    upstream.script({ kind: 'deltas', deltas: ['Refunds take five days.'] });
    const first = await readEvents(await postChat(server.url, { message: 'Where is my refund?', page: 'https://help.example.com/billing/refunds?order=1234#top' }));
    const begun = first.events[0]?.event;
    if (begun?.type !== 'message-start') throw new Error('no message-start');
    // A later turn from another page does not move where the conversation started.
    upstream.script({ kind: 'deltas', deltas: ['Yes.'] });
    await readEvents(await postChat(server.url, { conversationId: begun.conversationId, message: 'Still nothing', page: 'https://help.example.com/contact' }));

    expect((await request(server.url).post('/api/handoff').send({ conversationId: begun.conversationId, email: 'visitor@example.com' })).status).toBe(202);
    const [delivered] = await hook.waitForAccepted(1);
    const body = JSON.parse(delivered!.body) as WebhookBody;
    expect(body.page).toBe('https://help.example.com/billing/refunds');
    expect(body.text).toContain('https://help.example.com/billing/refunds');
    expect(body.transcript.map((entry) => entry.content)).toEqual(['Where is my refund?', 'Refunds take five days.', 'Still nothing', 'Yes.']);
    const [message] = await mail.waitForMail(1);
    expect(message!.parsed.text).toContain('https://help.example.com/billing/refunds');
    expect(message!.parsed.html).toContain('<a href="https://help.example.com/billing/refunds">');
  });

  it('answers a repeat of the same hand-off with the first, and sends it once', async () => {
    const hook = await webhook();
    const { server, handoff } = await start({ CHATDROP_HANDOFF_WEBHOOK: hook.url });
    const id = await chat(server.url, 'hello');
    const body = { conversationId: id, email: 'visitor@example.com', note: 'call me' };
    const [first, second] = await Promise.all([request(server.url).post('/api/handoff').send(body), request(server.url).post('/api/handoff').send(body)]);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.body.id).toBe(first.body.id);
    await hook.waitForAccepted(1);
    await handoff!.dispatcher.whenIdle();
    expect(hook.requests).toHaveLength(1);
    expect((await handoff!.outbox.handoffsFor([id])).get(id)).toHaveLength(1);
  });

  it('takes a second hand-off with new words as its own, and limits them per conversation', async () => {
    const hook = await webhook();
    const { server } = await start({ CHATDROP_HANDOFF_WEBHOOK: hook.url });
    const id = await chat(server.url, 'hello');
    for (const note of ['one', 'two', 'three']) {
      expect((await request(server.url).post('/api/handoff').send({ conversationId: id, email: 'visitor@example.com', note })).status).toBe(202);
    }
    const limited = await request(server.url).post('/api/handoff').send({ conversationId: id, email: 'visitor@example.com', note: 'four' });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate-limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3500);
    await hook.waitForAccepted(3);
    expect(new Set(hook.accepted().map((r) => (JSON.parse(r.body) as WebhookBody).note))).toEqual(new Set(['one', 'two', 'three']));
  });

  it('limits hand-offs per address, whatever they ask', async () => {
    const hook = await webhook();
    const { server } = await start({ CHATDROP_HANDOFF_WEBHOOK: hook.url });
    for (let i = 0; i < 10; i++) {
      expect((await request(server.url).post('/api/handoff').send({ conversationId: 'AAAAAAAAAAAAAAAAAAAAAAAA', email: 'visitor@example.com' })).status).toBe(404);
    }
    const res = await request(server.url).post('/api/handoff').send({ conversationId: 'AAAAAAAAAAAAAAAAAAAAAAAA', email: 'visitor@example.com' });
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe('rate-limited');
    expect(res.headers['retry-after']).toBeDefined();
  });

  it("answers bad input with the contract's 4xx and stores nothing", async () => {
    const hook = await webhook();
    const { server, handoff } = await start({ CHATDROP_HANDOFF_WEBHOOK: hook.url, CHATDROP_HANDOFF_RATE_LIMIT: '100' });
    const id = await chat(server.url, 'hello');
    const post = () => request(server.url).post('/api/handoff');
    const cases: [request.Test, number, string][] = [
      [post().set('Content-Type', 'text/plain').send('visitor@example.com'), 415, 'bad-request'],
      [post().set('Content-Type', 'application/json').send('{"conversationId":'), 400, 'bad-request'],
      [post().send([]), 400, 'bad-request'],
      [post().send({ conversationId: id }), 400, 'bad-request'],
      [post().send({ conversationId: id, email: 42 }), 400, 'bad-request'],
      [post().send({ conversationId: id, email: 'not an address' }), 400, 'bad-request'],
      [post().send({ conversationId: id, email: 'visitor@example.com\r\nBcc: evil@example.net' }), 400, 'bad-request'],
      [post().send({ conversationId: id, email: `${'a'.repeat(250)}@example.com` }), 400, 'bad-request'],
      [post().send({ conversationId: id, email: 'visitor@example.com', note: 'x'.repeat(2001) }), 413, 'too-large'],
      [post().send({ conversationId: id, email: 'visitor@example.com', note: 'x'.repeat(200_000) }), 413, 'too-large'],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect([res.status, res.body.error?.code], JSON.stringify(res.body)).toEqual([status, code]);
    }
    const other = await start({ CHATDROP_HANDOFF_WEBHOOK: hook.url });
    for (const conversationId of ['AAAAAAAAAAAAAAAAAAAAAAAA', '../../etc/passwd', id]) {
      const res = await request(other.server.url).post('/api/handoff').send({ conversationId, email: 'visitor@example.com' });
      expect([res.status, res.body.error?.code]).toEqual([404, 'not-found']);
    }
    expect((await handoff!.outbox.handoffsFor([id])).size).toBe(0);
    // A note at the limit, counted in characters the visitor sees, is fine.
    const res = await post().send({ conversationId: id, email: 'visitor@example.com', note: '🎉'.repeat(2000) });
    expect(res.status).toBe(202);
  });
});
