import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookBehaviour, type WebhookReceiver } from '../test/webhook-receiver.js';
import { backoffDelay, HandoffDispatcher, type DispatcherOptions, type Scheduler } from './handoff-dispatcher.js';
import type { HandoffOutbox, NewHandoff } from './handoff-outbox.js';
import { SqliteOutbox } from './sqlite-outbox.js';
import { WebhookChannel, type WebhookBody } from './webhook-channel.js';

const START = Date.UTC(2030, 0, 1);
const SECOND = 1000;
const HOUR = 3600 * SECOND;

/**
 * A clock and timers the test moves by hand: the dispatcher's backoff is checked against this
 * clock, never by sleeping. Deliveries themselves go to a real receiver over loopback.
 */
class ManualClock implements Scheduler {
  now = START;
  #timers: { at: number; run: () => void; id: number }[] = [];
  #ids = 0;

  setTimeout(run: () => void, ms: number): unknown {
    const id = ++this.#ids;
    this.#timers.push({ at: this.now + ms, run, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  get pending(): number {
    return this.#timers.length;
  }

  /** Moves the clock to the earliest timer and runs it; answers false when none is set. */
  fireNext(): boolean {
    this.#timers.sort((a, b) => a.at - b.at);
    const timer = this.#timers.shift();
    if (timer === undefined) return false;
    this.now = Math.max(this.now, timer.at);
    timer.run();
    return true;
  }
}

const handoff = (over: Partial<NewHandoff> = {}): NewHandoff => ({
  conversationId: 'conversation-a',
  conversationCreatedAt: Date.UTC(2030, 0, 1),
  email: 'visitor@example.com',
  note: null,
  page: null,
  transcript: [
    { role: 'user', content: 'first question', createdAt: '2030-01-01T00:00:00.000Z' },
    { role: 'assistant', content: 'first answer', createdAt: '2030-01-01T00:00:01.000Z' },
    { role: 'user', content: 'second question', createdAt: '2030-01-01T00:00:02.000Z' },
  ],
  channels: ['webhook'],
  ...over,
});

let dir: string;
let clock: ManualClock;
let logs: { level: number; msg: string; [key: string]: unknown }[];
let logger: Logger;
const closing: { close(): Promise<void> }[] = [];
const dispatchers: HandoffDispatcher[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chatdrop-dispatch-'));
  clock = new ManualClock();
  logs = [];
  logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
});

afterEach(async () => {
  for (const d of dispatchers.splice(0)) await d.stop(0);
  for (const thing of closing.splice(0)) await thing.close();
  rmSync(dir, { recursive: true, force: true });
});

function outbox(): SqliteOutbox {
  const opened = new SqliteOutbox({ path: join(dir, 'chatdrop.db') });
  closing.push(opened);
  return opened;
}

async function receiver(script: WebhookBehaviour[]): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(script);
  closing.push(started);
  return started;
}

/**
 * The channel's timeout is real time (the receiver answers over loopback): long enough that a
 * loaded machine's answer is not taken for a hang, short enough that a 'hang' costs little.
 */
function dispatcher(box: HandoffOutbox, url: string, over: Partial<DispatcherOptions> = {}): HandoffDispatcher {
  const made = new HandoffDispatcher({
    outbox: box,
    channels: [new WebhookChannel({ url, secret: undefined, timeoutMs: 1_500 })],
    logger,
    now: () => clock.now,
    scheduler: clock,
    random: () => 0.5,
    // Rounds only when something is due, so a simulated day takes a few dozen of them.
    pollMs: HOUR,
    ...over,
  });
  dispatchers.push(made);
  return made;
}

async function add(box: HandoffOutbox, over: Partial<NewHandoff> = {}): Promise<string> {
  const result = await box.add(handoff(over), { now: clock.now, duplicateWindowMs: 0, perConversation: 100, windowMs: HOUR });
  if (result.outcome !== 'stored') throw new Error(result.outcome);
  return result.id;
}

/** Runs timers until `done` holds, each round to its end; answers the clock offsets at which the receiver got requests. */
async function runUntil(d: HandoffDispatcher, hook: WebhookReceiver, done: () => boolean, maxRounds = 200): Promise<number[]> {
  const at: number[] = [];
  await d.whenIdle();
  for (let round = 0; !done(); round++) {
    if (round > maxRounds || !clock.fireNext()) throw new Error(`not done after ${round} rounds`);
    const before = hook.requests.length;
    await d.whenIdle();
    for (let i = before; i < hook.requests.length; i++) at.push(clock.now - START);
  }
  return at;
}

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with half of each step random', () => {
    const steps = [1, 2, 3, 4, 9, 10, 11, 40].map((n) => backoffDelay(n, 10 * SECOND, HOUR, () => 0));
    expect(steps).toEqual([5, 10, 20, 40, 1280, 1800, 1800, 1800].map((s) => s * SECOND));
    expect(backoffDelay(3, 10 * SECOND, HOUR, () => 0.999_999)).toBe(40 * SECOND);
    expect(backoffDelay(3, 10 * SECOND, HOUR, () => 0.5)).toBe(30 * SECOND);
  });
});

describe('HandoffDispatcher', () => {
  it('delivers at once when poked, then waits for the next thing due', async () => {
    const box = outbox();
    const hook = await receiver([]);
    const d = dispatcher(box, hook.url);
    d.start();
    clock.fireNext();
    await d.whenIdle();
    // Nothing to do: one timer, for the next look.
    expect(clock.pending).toBe(1);
    const id = await add(box);
    d.poke();
    const at = await runUntil(d, hook, () => hook.accepted().length === 1);
    expect(at).toEqual([0]);
    expect((JSON.parse(hook.accepted()[0]!.body) as WebhookBody).idempotencyKey).toBe(id);
    expect((await box.handoffsFor(['conversation-a'])).get('conversation-a')![0]!.deliveries[0]).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('retries a 500 and a timeout with exponential backoff and jitter, then delivers the transcript whole', async () => {
    const box = outbox();
    const hook = await receiver(['fail', 'hang', 'fail']);
    await add(box);
    const d = dispatcher(box, hook.url);
    d.start();
    const at = await runUntil(d, hook, () => hook.accepted().length === 1);
    // random 0.5: three quarters of 10 s, 20 s, 40 s after each failure.
    expect(at).toEqual([0, 7_500, 22_500, 52_500]);
    expect(hook.requests.map((r) => r.headers['x-chatdrop-delivery-attempt'])).toEqual(['1', '2', '3', '4']);
    const body = JSON.parse(hook.accepted()[0]!.body) as WebhookBody;
    expect(body.transcript.map((m) => m.content)).toEqual(['first question', 'first answer', 'second question']);
    // Every attempt carries the same idempotency key.
    expect(new Set(hook.requests.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    const warnings = logs.filter((l) => l.msg === 'hand-off delivery failed; retrying').map((l) => [l.reason, l.retryInMs]);
    expect(warnings).toEqual([
      ['HTTP 500: receiver is down', 7_500],
      ['no answer within 1500 ms', 15_000],
      ['HTTP 500: receiver is down', 30_000],
    ]);
  });

  it('keeps trying for 24 hours, then marks the delivery failed and logs it as an error', async () => {
    const box = outbox();
    const hook = await receiver(Array<WebhookBehaviour>(100).fill('fail'));
    await add(box);
    const d = dispatcher(box, hook.url);
    d.start();
    const failed = () => logs.some((l) => l.msg.startsWith('hand-off delivery failed for good'));
    const at = await runUntil(d, hook, failed);
    // The steps grow to the one-hour cap (45 min with this jitter), and the last attempt is before 24 h.
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps.slice(0, 9)).toEqual([7_500, 15_000, 30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000]);
    expect(new Set(gaps.slice(9))).toEqual(new Set([2_700_000]));
    expect(at.at(-1)!).toBeLessThan(24 * HOUR);
    expect(at.at(-1)! + 2_700_000).toBeGreaterThan(24 * HOUR);
    const [summary] = (await box.handoffsFor(['conversation-a'])).get('conversation-a')!;
    expect(summary!.deliveries[0]).toMatchObject({ state: 'failed', attempts: at.length, lastError: 'HTTP 500: receiver is down', nextAttemptAt: null });
    expect(logs.find((l) => l.msg.startsWith('hand-off delivery failed for good'))).toMatchObject({ level: 50, channel: 'webhook', reason: 'HTTP 500: receiver is down' });
    // Nothing is due any more: the dispatcher sleeps until its next look.
    expect(await box.nextDue(['webhook'])).toBeUndefined();
  });

  it('delivers after a restart what failed before it, from the same file', async () => {
    const first = outbox();
    const hook = await receiver(['fail']);
    await add(first);
    const before = dispatcher(first, hook.url);
    before.start();
    await runUntil(before, hook, () => hook.requests.length === 1);
    await before.stop(1_000);
    await first.close();

    clock.now += 60 * SECOND;
    const again = outbox();
    const after = dispatcher(again, hook.url);
    after.start();
    await runUntil(after, hook, () => hook.accepted().length === 1);
    expect((await again.handoffsFor(['conversation-a'])).get('conversation-a')![0]!.deliveries[0]).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('takes over a delivery whose holder died, once its lease ends', async () => {
    const box = outbox();
    const hook = await receiver([]);
    await add(box);
    // An instance claimed it and died before settling it (a crash, a kill -9).
    const [orphan] = await box.claim('webhook', clock.now, 60 * SECOND, 10);
    expect(orphan).toBeDefined();
    const other = dispatcher(outbox(), hook.url);
    clock.now += 59 * SECOND;
    other.start();
    clock.fireNext();
    await other.whenIdle();
    expect(hook.requests).toHaveLength(0);
    // Its next look is when the lease ends.
    const at = await runUntil(other, hook, () => hook.accepted().length === 1);
    expect(at).toEqual([60 * SECOND]);
    expect(hook.accepted()[0]!.headers['x-chatdrop-delivery-attempt']).toBe('2');
    // The dead holder's late word counts for nothing.
    expect(await box.complete(orphan!, clock.now)).toBe(false);
    expect((await box.handoffsFor(['conversation-a'])).get('conversation-a')![0]!.deliveries[0]).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('at shutdown lets a delivery in flight finish within the grace', async () => {
    const box = outbox();
    const hook = await receiver(['slow']);
    await add(box);
    const d = dispatcher(box, hook.url, { channels: [new WebhookChannel({ url: hook.url, secret: undefined, timeoutMs: 5_000 })] });
    d.start();
    clock.fireNext();
    await d.stop(10_000);
    expect(hook.accepted()).toHaveLength(1);
    expect((await box.handoffsFor(['conversation-a'])).get('conversation-a')![0]!.deliveries[0]).toMatchObject({ state: 'delivered' });
  });

  it('at shutdown past the grace cuts a delivery in flight and leaves it due at once, the attempt not counted', async () => {
    const box = outbox();
    const hook = await receiver(['hang']);
    await add(box);
    const d = dispatcher(box, hook.url, { channels: [new WebhookChannel({ url: hook.url, secret: undefined, timeoutMs: 60_000 })] });
    d.start();
    clock.fireNext();
    await hook.waitForRequests(1);
    await d.stop(50);
    expect(logs.some((l) => l.msg === 'hand-off delivery cut by shutdown; left for the next attempt')).toBe(true);
    const [claim] = await box.claim('webhook', clock.now, 1000, 10);
    expect(claim?.attempt).toBe(1);
  });

  it('delivers many hand-offs, a few at a time', async () => {
    const box = outbox();
    const hook = await receiver([]);
    for (let i = 0; i < 12; i++) await add(box, { conversationId: `c${i}` });
    const d = dispatcher(box, hook.url, { concurrency: 3 });
    d.start();
    await runUntil(d, hook, () => hook.accepted().length === 12);
    expect(new Set(hook.accepted().map((r) => r.headers['idempotency-key'])).size).toBe(12);
  });
});
