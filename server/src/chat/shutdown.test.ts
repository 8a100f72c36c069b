import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@chatdrop/shared';
import { SqliteStore } from '../store/sqlite-store.js';
import { CANARY_KEY } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents, textOf } from '../test/read-sse.js';

/**
 * Graceful shutdown (issue 5) of the real thing: `node server/dist/main.js` in a child process,
 * configured by its environment only, pointed at the mock upstream. SIGTERM must stop new
 * connections, let a short reply finish, end a long one with `message-end` `aborted` once
 * `CHATDROP_SHUTDOWN_GRACE_MS` has passed, keep its text, close the store and exit 0.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'server/dist/main.js');

let upstream: MockUpstream;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(() => {
  // `pnpm test` builds first; a lone `vitest run` may find dist stale, so build (fast when current).
  const built = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'shared', 'server'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`tsc -b shared server failed:\n${built.stdout}${built.stderr}`);
  dir = mkdtempSync(join(tmpdir(), 'chatdrop-shutdown-'));
}, 120_000);
beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  url: string;
  exited: Promise<number | null>;
  lines: string[];
}

/** Starts main.js on a free port and resolves once it logs where it listens. */
function startMain(env: Record<string, string>): Promise<Started> {
  const proc = spawn(process.execPath, [MAIN], {
    cwd: dir,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffered = '';
    proc.stderr.on('data', (part: Buffer) => lines.push(part.toString('utf8')));
    proc.stdout.on('data', (part: Buffer) => {
      buffered += part.toString('utf8');
      const all = buffered.split('\n');
      buffered = all.pop() ?? '';
      for (const line of all) {
        lines.push(line);
        const port = /"port":(\d+)/.exec(line)?.[1];
        if (port !== undefined && line.includes('listening')) resolve({ url: `http://127.0.0.1:${port}`, exited, lines });
      }
    });
    void exited.then((code) => reject(new Error(`main.js exited (${code}) before listening:\n${lines.join('\n')}`)));
  });
}

const words = Array.from({ length: 400 }, (_, i) => `w${i} `);

/** Waits are for events; this only caps how long a broken build may hang the test. */
const GENEROUS_MS = 15_000;

describe('SIGTERM', () => {
  it('lets a short reply finish, ends a long one with message-end aborted after the grace, keeps its text, and exits 0', async () => {
    const dbPath = join(dir, 'chatdrop.db');
    const main = await startMain({
      OPENAI_API_KEY: CANARY_KEY,
      OPENAI_BASE_URL: upstream.baseUrl,
      HOST: '127.0.0.1',
      PORT: '0',
      CHATDROP_DB: dbPath,
      // Long enough for the short reply to finish on a loaded machine; the long one never would.
      CHATDROP_SHUTDOWN_GRACE_MS: '4000',
      CHATDROP_UPSTREAM_RETRIES: '0',
    });
    upstream.script(
      // Five words, then silence for longer than the test may run (the idle timeout is 30 s):
      // only the end of the grace can end it.
      { kind: 'deltas', deltas: words, hangAfter: 5 },
      { kind: 'deltas', deltas: ['Short ', 'and ', 'sweet.'], delayMs: 150 },
    );

    const long = readEvents(await postChat(main.url, { message: 'A long story, please' }));
    // Both replies are running before SIGTERM: wait until the upstream has been asked for them.
    await expect.poll(() => upstream.requests.length, { timeout: GENEROUS_MS }).toBe(1);
    const short = readEvents(await postChat(main.url, { message: 'Something short' }));
    await expect.poll(() => upstream.requests.length, { timeout: GENEROUS_MS }).toBe(2);

    child!.kill('SIGTERM');
    // Stops accepting: once the signal has landed, a new connection is refused.
    await expect.poll(() => main.lines.some((line) => line.includes('shutting down')), { timeout: GENEROUS_MS }).toBe(true);
    await expect
      .poll(() => fetch(`${main.url}/healthz`).then(() => 'accepted', () => 'refused'), { timeout: GENEROUS_MS })
      .toBe('refused');

    const shortEvents = (await short).events;
    expect(shortEvents.at(-1)!.event).toMatchObject({ type: 'message-end', finishReason: 'stop' });
    expect(textOf(shortEvents)).toBe('Short and sweet.');

    const longEvents = (await long).events;
    const ends = longEvents.filter((e) => e.event.type === 'message-end');
    expect(ends).toHaveLength(1);
    expect(ends[0]!.event).toMatchObject({ finishReason: 'aborted' });
    expect(longEvents.some((e) => e.event.type === 'error')).toBe(false);
    expect(textOf(longEvents)).toBe(words.slice(0, 5).join(''));

    expect(await main.exited).toBe(0);
    expect(upstream.requests[0]!.aborted).toBe(true);

    // The store was closed cleanly and kept what was streamed.
    const start = longEvents[0]!.event as Extract<StreamEvent, { type: 'message-start' }>;
    const store = new SqliteStore({ path: dbPath });
    try {
      const reply = (await store.getConversation(start.conversationId))?.messages[1];
      expect(reply).toMatchObject({ status: 'incomplete', content: textOf(longEvents) });
    } finally {
      await store.close();
    }
    const log = main.lines.join('\n');
    expect(log).toContain('shutting down');
    expect(log).toContain('"abortReason":"shutdown"');
    expect(log).not.toContain(CANARY_KEY);
  }, 60_000);
});
