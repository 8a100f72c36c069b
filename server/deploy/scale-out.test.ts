import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiErrorBody, type StreamEvent } from '@chatdrop/shared';
import { startMockUpstream, type MockUpstream } from '../src/test/mock-upstream.js';
import { postChat, readEvents, textOf, type ReceivedEvent } from '../src/test/read-sse.js';
import { freePort, requireRedisServer, startRedis, stopRedis } from '../src/test/redis-server.js';
import { CANARY_KEY } from '../src/test/test-server.js';
import { renderNginxConfig } from './nginx-config.js';

/**
 * Issue 6 as an operator runs it: two real Chatdrop processes (`node server/dist/main.js`, as the
 * README's deployment recipe starts them) on one real redis-server, nginx in front rendered from
 * the repository's nginx.conf, and the mock OpenAI upstream. Loopback only; every process is
 * stopped by its PID.
 */
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
requireRedisServer();
if (spawnSync(NGINX, ['-v']).error) throw new Error(`nginx is not installed (looked for "${NGINX}"); install it (apt-get install nginx) or set NGINX`);
if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the server first (pnpm build)`);

const GRACE_MS = 1_500;
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

class Instance {
  output = '';
  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(name: string, env: Record<string, string>): Promise<Instance> {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const instance = new Instance(name, child, `http://127.0.0.1:${port}`);
    child.stdout?.on('data', (chunk: Buffer) => (instance.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (instance.output += chunk.toString()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`instance ${name} exited with ${child.exitCode}:\n${instance.output}`);
      if (await fetch(`${instance.url}/healthz`).then((res) => res.ok, () => false)) return instance;
      if (Date.now() > deadline) throw new Error(`instance ${name} did not start:\n${instance.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

let redisPort: number;
let redisServer: ChildProcess;
let upstream: MockUpstream;
let a: Instance;
let b: Instance;
let nginx: ChildProcess | undefined;
let nginxOutput = '';
let nginxUrl: string;
let tempDir: string;

beforeAll(async () => {
  redisPort = await freePort();
  redisServer = await startRedis(redisPort);
  upstream = await startMockUpstream();
  const env = {
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    OPENAI_API_KEY: CANARY_KEY,
    OPENAI_BASE_URL: upstream.baseUrl,
    // One proxy (nginx, or the test itself saying X-Forwarded-For) in front: the limits count visitors.
    TRUST_PROXY: '1',
    CHATDROP_RATE_LIMIT: '6',
    CHATDROP_RESUME_GRACE_MS: String(GRACE_MS),
    CHATDROP_UPSTREAM_RETRIES: '0',
    CHATDROP_METRICS_TOKEN: METRICS_TOKEN,
    LOG_LEVEL: 'warn',
  };
  [a, b] = await Promise.all([Instance.start('a', env), Instance.start('b', env)]);

  tempDir = await mkdtemp(join(tmpdir(), 'chatdrop-scale-'));
  await chmod(tempDir, 0o755); // nginx's workers run as `nobody` when the test runs as root
  const port = await freePort();
  const configFile = join(tempDir, 'nginx.conf');
  await writeFile(configFile, renderNginxConfig({ listenPort: port, upstreams: [a.url, b.url].map((u) => u.slice('http://'.length)), tempDir }));
  nginx = spawn(NGINX, ['-c', configFile, '-p', tempDir, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
  nginx.stdout?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
  nginx.stderr?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
  nginxUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await fetch(`${nginxUrl}/healthz`).then((res) => res.ok, () => false))) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}:\n${nginxOutput}`);
    if (Date.now() > deadline) throw new Error(`nginx did not start:\n${nginxOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}, 60_000);

afterAll(async () => {
  if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
    const exited = once(nginx, 'exit');
    nginx.kill('SIGTERM');
    await exited;
  }
  await Promise.all([a?.stop(), b?.stop()]);
  await upstream?.close();
  if (redisServer !== undefined) await stopRedis(redisServer);
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
}, 30_000);

/** Each test is its own visitor, so the per-IP rate limit of one does not reach the others. */
let visitors = 0;
function visitor(): Record<string, string> {
  visitors += 1;
  return { 'X-Forwarded-For': `198.51.100.${visitors}` };
}

function startOf(events: ReceivedEvent[]): Extract<StreamEvent, { type: 'message-start' }> {
  const first = events[0]?.event;
  if (first?.type !== 'message-start') throw new Error(`expected message-start, got ${JSON.stringify(first)}`);
  return first;
}

function ids(events: ReceivedEvent[]): number[] {
  return events.map((e) => Number(e.id));
}

const many = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${tag}${i} `);

describe('two instances on one Redis', () => {
  it('continue a conversation started on A on B, with the history A stored', async () => {
    const who = visitor();
    upstream.script({ kind: 'deltas', deltas: ['Paris.'] });
    const first = (await readEvents(await postChat(a.url, { message: 'Capital of France?' }, { headers: who }))).events;
    const { conversationId } = startOf(first);

    upstream.script({ kind: 'deltas', deltas: ['About 2 million.'] });
    const second = (await readEvents(await postChat(b.url, { conversationId, message: 'Its population?' }, { headers: who }))).events;
    expect(startOf(second).conversationId).toBe(conversationId);
    expect(textOf(second)).toBe('About 2 million.');
    const sent = upstream.requests.at(-1)!.body as { messages: { role: string; content: string }[] };
    expect(sent.messages.slice(1)).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'Its population?' },
    ]);
    const stored = (await (await fetch(`${a.url}/api/conversations/${conversationId}`)).json()) as { messages: { content: string }[] };
    expect(stored.messages.map((m) => m.content)).toEqual(['Capital of France?', 'Paris.', 'Its population?', 'About 2 million.']);
  });

  it('count the rate limit across both', async () => {
    const who = visitor();
    upstream.script({ kind: 'deltas', deltas: ['ok'] });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await postChat(i % 2 === 0 ? a.url : b.url, { message: `Question ${i}` }, { headers: who });
      statuses.push(response.status);
      await readEvents(response); // to its end, so the stream slot is free again
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    for (const instance of [a, b]) {
      const refused = await postChat(instance.url, { message: 'One more' }, { headers: who });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      const body: unknown = await refused.json();
      expect(isApiErrorBody(body) && body.error.code).toBe('rate-limited');
    }
    // Another visitor is not affected.
    const other = await postChat(b.url, { message: 'Me too' }, { headers: visitor() });
    expect(other.status).toBe(200);
    await readEvents(other);
  });

  it('resume on B a stream that was cut on A, with no gap and no duplicate, while A keeps the reply running past the grace', async () => {
    const who = visitor();
    // About 3 s of reply: twice the grace, so only B's reader announcing itself keeps it alive.
    const words = many(75, 'w');
    upstream.script({ kind: 'deltas', deltas: words, delayMs: 40 });
    const phone = new AbortController();
    const cut = await readEvents(
      await postChat(a.url, { message: 'Tell me a story' }, { headers: who, signal: phone.signal }),
      (_event, all) => (all.filter((e) => e.event.type === 'text-delta').length >= 3 ? 'stop' : undefined),
    );
    phone.abort();
    const { messageId, conversationId } = startOf(cut.events);

    const resumed = await fetch(`${b.url}/api/chat/${messageId}/stream`, { headers: { 'Last-Event-ID': cut.events.at(-1)!.id!, ...who } });
    expect(resumed.status).toBe(200);
    const rest = (await readEvents(resumed)).events;
    const all = [...cut.events, ...rest];
    expect(ids(all)).toEqual(all.map((_, i) => i + 1));
    expect(textOf(all)).toBe(words.join(''));
    expect(rest.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'stop' });
    expect(upstream.requests.at(-1)?.aborted).toBe(false);
    const stored = (await (await fetch(`${b.url}/api/conversations/${conversationId}`)).json()) as { messages: { content: string; status: string }[] };
    expect(stored.messages[1]).toMatchObject({ content: words.join(''), status: 'complete' });
  });

  it('abort the upstream request on A when nobody resumes within the grace', async () => {
    upstream.script({ kind: 'deltas', deltas: many(400, 'n'), delayMs: 20 });
    const phone = new AbortController();
    await readEvents(await postChat(a.url, { message: 'Long one' }, { headers: visitor(), signal: phone.signal }), (event) =>
      event.type === 'text-delta' ? 'stop' : undefined,
    );
    phone.abort();
    const leftAt = Date.now();
    const record = await upstream.waitForAbort(upstream.requests.length - 1, GRACE_MS + 5_000);
    expect(record.abortedAt! - leftAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
  });

  it('abort the upstream request running on A when Stop is sent to B', async () => {
    upstream.script({ kind: 'deltas', deltas: many(400, 's'), delayMs: 20 });
    const index = upstream.requests.length; // the headers go out before the upstream call starts
    const response = await postChat(a.url, { message: 'Keep going' }, { headers: visitor() });
    let stopSent = false;
    const { events } = await readEvents(response, (event, all) => {
      if (!stopSent && all.filter((e) => e.event.type === 'text-delta').length >= 2) {
        stopSent = true;
        const { messageId } = startOf(all);
        void fetch(`${b.url}/api/chat/${messageId}/stop`, { method: 'POST' }).then((res) => expect(res.status).toBe(204));
      }
      return undefined;
    });
    const record = await upstream.waitForAbort(index, 2_000);
    expect(record.aborted).toBe(true);
    expect(events.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'aborted' });
  });
});

describe('a reply running on A, reached through B', () => {
  /** Starts a long reply on A and leaves after its first delta, as a dropped phone would. */
  async function startOnAAndDrop(who: Record<string, string>, message: string) {
    upstream.script({ kind: 'deltas', deltas: many(400, 'd'), delayMs: 20 });
    const index = upstream.requests.length;
    const phone = new AbortController();
    const { events } = await readEvents(await postChat(a.url, { message }, { headers: who, signal: phone.signal }), (event) =>
      event.type === 'text-delta' ? 'stop' : undefined,
    );
    phone.abort();
    return { index, ...startOf(events) };
  }

  it('DELETE of the conversation on B stops the reply on A at once', async () => {
    const { index, conversationId } = await startOnAAndDrop(visitor(), 'Forget this');
    const deleted = await fetch(`${b.url}/api/conversations/${conversationId}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    // Well inside the grace: the Stop, not the grace, ended it.
    const record = await upstream.waitForAbort(index, GRACE_MS - 200);
    expect(record.aborted).toBe(true);
  });

  it('Retry on B of a question whose reply still runs on A stops that reply and stores the question once', async () => {
    const who = visitor();
    const { index, conversationId } = await startOnAAndDrop(who, 'Explain DNS');
    upstream.script({ kind: 'deltas', deltas: ['DNS maps names to addresses.'] });
    const retried = (await readEvents(await postChat(b.url, { conversationId, message: 'Explain DNS' }, { headers: who }))).events;
    expect(textOf(retried)).toBe('DNS maps names to addresses.');
    // Stopped by the Retry, inside the grace (the reply would otherwise have run on for it).
    expect((await upstream.waitForAbort(index, GRACE_MS - 200)).aborted).toBe(true);
    const stored = (await (await fetch(`${b.url}/api/conversations/${conversationId}`)).json()) as { messages: { role: string; content: string; status: string }[] };
    expect(stored.messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'Explain DNS', 'complete'],
      ['assistant', 'DNS maps names to addresses.', 'complete'],
    ]);
  });
});

describe('nginx in front of both', () => {
  it('passes the first delta through long before the stream ends, and resumes through it too', async () => {
    upstream.script({ kind: 'deltas', deltas: many(8, 'slow'), delayMs: 250 });
    const response = await postChat(nginxUrl, { message: 'Slowly, please' }, { headers: { Origin: nginxUrl } });
    expect(response.status).toBe(200);
    let firstDeltaAt: number | undefined;
    const { events } = await readEvents(response, (event) => {
      if (event.type === 'text-delta') firstDeltaAt ??= Date.now();
    });
    const endedAt = Date.now();
    expect(textOf(events)).toBe(many(8, 'slow').join(''));
    // Seven more deltas 250 ms apart came after the first: a buffering proxy would deliver all at once.
    expect(endedAt - firstDeltaAt!).toBeGreaterThan(1_000);

    const replay = await fetch(`${nginxUrl}/api/chat/${startOf(events).messageId}/stream`, { headers: { 'Last-Event-ID': '2' } });
    expect((await readEvents(replay)).events).toEqual(events.slice(2));
  });
});

/** A GET with the path sent byte for byte (fetch would normalise it) from a chosen local address. */
function rawGet(base: string, path: string, localAddress: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, localAddress, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/metrics behind nginx', () => {
  const auth = { Authorization: `Bearer ${METRICS_TOKEN}` };

  it('reaches the scraper on the proxy host, with the token', async () => {
    const scrape = await rawGet(nginxUrl, '/metrics', '127.0.0.1', auth);
    expect(scrape.status).toBe(200);
    expect(scrape.body).toContain('# HELP');
  });

  it('is reachable from nowhere else, however the path is spelled', async () => {
    // 127.0.0.2 is loopback too, but not the address nginx allows: it stands for the internet.
    for (const path of ['/metrics', '/METRICS', '/Metrics', '/metrics/', '/METRICS/', '/metrics//', '//metrics', '/./metrics', '/%6detrics', '/%6Detrics/', '/metrics?x=1', '/metrics/?x=1']) {
      const { status, body } = await rawGet(nginxUrl, path, '127.0.0.2', auth);
      expect(body, path).not.toContain('# HELP');
      expect([403, 404], path).toContain(status);
    }
  });
});

describe('Redis stopped and started again while the instances run', () => {
  it('answers 503 while it is down, and both instances recover by themselves', async () => {
    await stopRedis(redisServer);
    for (const instance of [a, b]) {
      const down = await postChat(instance.url, { message: 'Anyone?' }, { headers: visitor() });
      expect(down.status).toBe(503);
      expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
      const body: unknown = await down.json();
      expect(isApiErrorBody(body) && body.error.code).toBe('upstream-unavailable');
    }

    // A resume is not told "nothing to resume" (204) while Redis is away, but to try again.
    const resume = await fetch(`${a.url}/api/chat/${'m'.repeat(24)}/stream`, { headers: { 'Last-Event-ID': '3' } });
    expect(resume.status).toBe(503);
    expect(Number(resume.headers.get('retry-after'))).toBeGreaterThan(0);

    redisServer = await startRedis(redisPort);
    upstream.script({ kind: 'deltas', deltas: ['Back again.'] });
    for (const instance of [a, b]) {
      await expect
        .poll(
          async () => {
            const response = await postChat(instance.url, { message: 'Back?' }, { headers: visitor() });
            if (response.status !== 200) return response.status;
            return textOf((await readEvents(response)).events);
          },
          { timeout: 15_000, interval: 250 },
        )
        .toBe('Back again.');
    }

    // The stop channel is subscribed again too: Stop sent to B still reaches a reply on A, whose
    // reader stays attached (so only the Stop, not the grace, can end it).
    upstream.script({ kind: 'deltas', deltas: many(400, 'r'), delayMs: 20 });
    const index = upstream.requests.length; // the headers go out before the upstream call starts
    const response = await postChat(a.url, { message: 'And stop' }, { headers: visitor() });
    let messageId = '';
    const reading = readEvents(response, (event) => {
      if (event.type === 'message-start') messageId = event.messageId;
    });
    await expect.poll(() => messageId !== '' && upstream.requests[index] !== undefined).toBe(true);
    await expect
      .poll(
        async () => {
          await fetch(`${b.url}/api/chat/${messageId}/stop`, { method: 'POST' });
          return upstream.requests[index]?.aborted;
        },
        { timeout: 10_000, interval: 500 },
      )
      .toBe(true);
    expect((await reading).events.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'aborted' });
  }, 60_000);
});
