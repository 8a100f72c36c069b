import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { RedisStore } from '../store/redis-store.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { connectTestClient, freePort, requireRedisServer, startRedis, stopRedis } from '../test/redis-server.js';
import { startSmtpReceiver, type SmtpReceiver } from '../test/smtp-receiver.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../test/webhook-receiver.js';
import { EmailChannel } from './email-channel.js';
import { createHandoff, type HandoffService } from './handoff-service.js';
import { WebhookChannel, type WebhookBody } from './webhook-channel.js';

// CI installs Debian's redis-server; a missing one must fail this file loudly, never skip it.
requireRedisServer();

let upstream: MockUpstream;
let redisServer: ChildProcess;
let redisUrl: string;
let redisPort: number;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  upstream = await startMockUpstream();
  redisPort = await freePort();
  redisServer = await startRedis(redisPort);
  redisUrl = `redis://127.0.0.1:${redisPort}`;
});
afterAll(async () => {
  await upstream.close();
  await stopRedis(redisServer);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Instance {
  server: TestServer;
  handoff: HandoffService;
  redis: Redis;
  delivered: () => number;
}

/** One instance as main.ts wires it with REDIS_URL: conversations, outbox and limits on one redis-server. */
async function instance(hook: WebhookReceiver, mail: SmtpReceiver): Promise<Instance> {
  const env = {
    REDIS_URL: redisUrl,
    CHATDROP_HANDOFF_WEBHOOK: hook.url,
    CHATDROP_HANDOFF_SMTP: mail.url,
    CHATDROP_HANDOFF_EMAIL_TO: 'team@example.com',
    CHATDROP_HANDOFF_RATE_LIMIT: '1000',
  };
  const config = parseConfig(env);
  const redis = await connectTestClient(redisUrl);
  const lines: string[] = [];
  const handoff = createHandoff({
    config,
    redis,
    logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    dispatcher: { baseDelayMs: 40, maxDelayMs: 200, pollMs: 100 },
    channels: [
      new WebhookChannel({ ...config.handoff!.webhook!, timeoutMs: 5_000 }),
      new EmailChannel({ ...config.handoff!.email!, timeoutMs: 5_000 }),
    ],
  })!;
  const store = await RedisStore.open({ url: redisUrl });
  const server = await startTestServer({ upstream, env, store, shared: { handoff } });
  handoff.dispatcher.start();
  cleanups.push(() => redis.disconnect());
  cleanups.push(() => server.close());
  cleanups.push(() => handoff.dispatcher.stop(0));
  return { server, handoff, redis, delivered: () => lines.filter((l) => l.includes('"hand-off delivered"')).length };
}

async function chat(url: string, message: string, page?: string): Promise<string> {
  upstream.script({ kind: 'deltas', deltas: ['Answer to: ', message] });
  const { events } = await readEvents(await postChat(url, { message, page }));
  const start = events.find((e) => e.event.type === 'message-start')?.event;
  if (start?.type !== 'message-start') throw new Error('no message-start');
  return start.conversationId;
}

describe('hand-off with several instances on one Redis', () => {
  it('delivers each hand-off exactly once to the webhook and the mailbox, though both fail at first', async () => {
    const hook = await startWebhookReceiver(['fail', 'fail', 'fail']);
    const mail = await startSmtpReceiver({ refuse: 2 });
    cleanups.push(() => hook.close(), () => mail.close());
    const a = await instance(hook, mail);
    const b = await instance(hook, mail);

    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      // Asked on one instance, handed off on the other: the conversation and the outbox are shared.
      const [asked, handed] = i % 2 === 0 ? [a, b] : [b, a];
      const conversationId = await chat(asked.server.url, `question ${i}`, `https://help.example.com/q${i}?from=search`);
      const res = await request(handed.server.url).post('/api/handoff').send({ conversationId, email: `visitor${i}@example.com` });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }

    await hook.waitForAccepted(8);
    await mail.waitForMail(8);
    // Nothing left running anywhere (a receiver has the last copy a moment before its sender marks
    // it), then every delivery settled: no copy can still be on its way.
    await Promise.all([a.handoff.dispatcher.whenIdle(), b.handoff.dispatcher.whenIdle()]);
    const conversations = hook.accepted().map((r) => (JSON.parse(r.body) as WebhookBody).conversationId);
    const view = await a.handoff.outbox.handoffsFor(conversations);
    const states = [...view.values()].flat().flatMap((h) => h.deliveries.map((d) => d.state));
    expect(states).toEqual(Array(16).fill('delivered'));

    // The page each conversation started on, as the Redis store keeps it.
    expect(hook.accepted().map((r) => (JSON.parse(r.body) as WebhookBody).page).sort()).toEqual(ids.map((_, i) => `https://help.example.com/q${i}`).sort());
    const keys = hook.accepted().map((r) => r.headers['idempotency-key']);
    expect(keys.sort()).toEqual([...ids].sort());
    expect(hook.requests).toHaveLength(8 + 3);
    const messageIds = mail.received.map((m) => m.parsed.messageId);
    expect(new Set(messageIds).size).toBe(8);
    expect(mail.received).toHaveLength(8);
    expect(a.delivered() + b.delivered()).toBe(16);
  });

  it('answers 503 while Redis is away, and takes hand-offs again once it is back', async () => {
    const hook = await startWebhookReceiver();
    const mail = await startSmtpReceiver();
    cleanups.push(() => hook.close(), () => mail.close());
    const a = await instance(hook, mail);
    const conversationId = await chat(a.server.url, 'hello');

    await stopRedis(redisServer);
    const res = await request(a.server.url).post('/api/handoff').send({ conversationId, email: 'visitor@example.com' });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('upstream-unavailable');
    expect(res.headers['retry-after']).toBeDefined();

    // A fresh Redis (no persistence here): the conversation is gone, so 404; the point is no 500.
    redisServer = await startRedis(redisPort);
    const back = async () => (await request(a.server.url).post('/api/handoff').send({ conversationId, email: 'visitor@example.com' })).status;
    await expect.poll(back, { timeout: 10_000, interval: 100 }).toBe(404);
    const fresh = await chat(a.server.url, 'hello again');
    expect((await request(a.server.url).post('/api/handoff').send({ conversationId: fresh, email: 'visitor@example.com' })).status).toBe(202);
    await hook.waitForAccepted(1);
  });
});
