import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation } from '@chatdrop/shared';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { freePort } from '../test/redis-server.js';
import { SMTP_PASSWORD, startSmtpReceiver, type SmtpReceiver } from '../test/smtp-receiver.js';
import { CANARY_KEY } from '../test/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../test/webhook-receiver.js';
import type { WebhookBody } from './webhook-channel.js';

/**
 * The durable outbox across a real restart: `node server/dist/main.js` configured by its
 * environment only, with the webhook and the mail server both down. The visitor's hand-off is
 * stored (202), the first attempts fail, the server is stopped with SIGTERM, the receivers come
 * back, and a new process on the same SQLite file delivers both, whole and signed.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'server/dist/main.js');
const SECRET = 'restart-test-secret-0123456789';

let upstream: MockUpstream;
let dir: string;
const children: ChildProcess[] = [];
const receivers: (WebhookReceiver | SmtpReceiver)[] = [];

beforeAll(() => {
  // `pnpm test` builds first; a lone `vitest run` may find dist stale, so build (fast when current).
  const built = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'shared', 'server'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`tsc -b shared server failed:\n${built.stdout}${built.stderr}`);
  dir = mkdtempSync(join(tmpdir(), 'chatdrop-handoff-restart-'));
}, 120_000);
beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const receiver of receivers) await receiver.close();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  url: string;
  exited: Promise<number | null>;
  lines: string[];
  child: ChildProcess;
}

/** Starts main.js on a free port and resolves once it logs where it listens. */
function startMain(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [MAIN], { cwd: dir, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stderr.on('data', (part: Buffer) => lines.push(part.toString('utf8')));
    child.stdout.on('data', (part: Buffer) => {
      buffered += part.toString('utf8');
      const all = buffered.split('\n');
      buffered = all.pop() ?? '';
      for (const line of all) {
        lines.push(line);
        const port = /"port":(\d+)/.exec(line)?.[1];
        if (port !== undefined && line.includes('listening')) resolve({ url: `http://127.0.0.1:${port}`, exited, lines, child });
      }
    });
    void exited.then((code) => reject(new Error(`main.js exited (${code}) before listening:\n${lines.join('\n')}`)));
  });
}

/** Resolves once a log line matching `pattern` has been written. */
async function logged(started: Started, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!started.lines.some((line) => pattern.test(line))) {
    if (Date.now() > deadline) throw new Error(`no log line ${pattern} within ${timeoutMs} ms:\n${started.lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('hand-off across a restart', () => {
  it('delivers to the webhook and the mailbox after both were down and the server restarted in between', async () => {
    const webhookPort = await freePort();
    const smtpPort = await freePort();
    const env = {
      OPENAI_API_KEY: CANARY_KEY,
      OPENAI_BASE_URL: upstream.baseUrl,
      HOST: '127.0.0.1',
      PORT: '0',
      CHATDROP_DB: join(dir, 'chatdrop.db'),
      CHATDROP_SHUTDOWN_GRACE_MS: '500',
      CHATDROP_UPSTREAM_RETRIES: '0',
      CHATDROP_HANDOFF_WEBHOOK: `http://127.0.0.1:${webhookPort}/hooks/chatdrop`,
      CHATDROP_HANDOFF_WEBHOOK_SECRET: SECRET,
      CHATDROP_HANDOFF_SMTP: `smtp://chatdrop:${SMTP_PASSWORD}@127.0.0.1:${smtpPort}`,
      CHATDROP_HANDOFF_EMAIL_TO: 'team@example.com',
    };

    const first = await startMain(env);
    upstream.script({ kind: 'deltas', deltas: ['You can ask ', 'for a refund ', 'within 30 days.'] });
    const { events } = await readEvents(await postChat(first.url, { message: 'Can I get a refund?' }));
    const start = events[0]!.event;
    if (start.type !== 'message-start') throw new Error('no message-start');
    const conversationId = start.conversationId;
    const conversation = (await (await fetch(`${first.url}/api/conversations/${conversationId}`)).json()) as Conversation;

    const res = await fetch(`${first.url}/api/handoff`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ conversationId, email: 'visitor@example.com', note: 'Order 1234' }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // Both channels tried once and failed (nothing listens); the retries are due in 5 to 10 s.
    await logged(first, /"channel":"webhook".*hand-off delivery failed; retrying/);
    await logged(first, /"channel":"email".*hand-off delivery failed; retrying/);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // The team's systems come back while the server is down; then a new process on the same file.
    const hook = await startWebhookReceiver([], webhookPort);
    const mail = await startSmtpReceiver({ port: smtpPort });
    receivers.push(hook, mail);
    const second = await startMain(env);

    const [delivered] = await hook.waitForAccepted(1, 30_000);
    const body = JSON.parse(delivered!.body) as WebhookBody;
    expect(body).toMatchObject({ type: 'handoff', idempotencyKey: id, conversationId, email: 'visitor@example.com', note: 'Order 1234' });
    expect(body.transcript).toEqual(conversation.messages.map((m) => ({ role: m.role, content: m.content, createdAt: m.createdAt })));
    expect(body.transcript.map((m) => m.content)).toEqual(['Can I get a refund?', 'You can ask for a refund within 30 days.']);
    expect(delivered!.headers['x-chatdrop-delivery-attempt']).toBe('2');
    const timestamp = delivered!.headers['x-chatdrop-timestamp'] as string;
    expect(delivered!.headers['x-chatdrop-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${delivered!.body}`).digest('hex')}`);

    const [message] = await mail.waitForMail(1, 30_000);
    expect(message!.parsed.text).toContain('Can I get a refund?');
    expect(message!.parsed.text).toContain('You can ask for a refund within 30 days.');
    expect(message!.parsed.replyTo?.value[0]?.address).toBe('visitor@example.com');

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const log = [...first.lines, ...second.lines].join('\n');
    // Nor the conversation id, which lets a browser read the conversation.
    for (const secret of [CANARY_KEY, SECRET, SMTP_PASSWORD, 'visitor@example.com', 'Order 1234', conversationId]) expect(log).not.toContain(secret);
  }, 60_000);
});
