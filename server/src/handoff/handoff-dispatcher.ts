import type { Logger } from 'pino';
import { DeliveryError, type HandoffChannel } from './handoff-channel.js';
import type { ChannelName, Claim, HandoffOutbox } from './handoff-outbox.js';

/** Timers, injected by tests so backoff is checked on a clock they move, not by sleeping. */
export interface Scheduler {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface DispatcherOptions {
  outbox: HandoffOutbox;
  channels: readonly HandoffChannel[];
  logger: Logger;
  now?: () => number;
  scheduler?: Scheduler;
  /** In [0, 1); the jitter's source. */
  random?: () => number;
  /** How long a claimed delivery is ours; longer than any one attempt (webhook 10 s, SMTP 15 s a step). */
  leaseMs?: number;
  /** The longest wait between two looks at the outbox (another instance's work, a lease that ran out). */
  pollMs?: number;
  /** A delivery is retried until the hand-off is this old, then marked failed. */
  maxAgeMs?: number;
  /** The first retry waits about this long; each next one twice as long... */
  baseDelayMs?: number;
  /** ...up to this. */
  maxDelayMs?: number;
  /** Deliveries of one channel running at once on this instance. */
  concurrency?: number;
}

const HOUR = 60 * 60 * 1000;
export const DEFAULTS = {
  leaseMs: 5 * 60 * 1000,
  pollMs: 15_000,
  maxAgeMs: 24 * HOUR,
  baseDelayMs: 10_000,
  maxDelayMs: HOUR,
  concurrency: 4,
};

/**
 * The wait before the attempt after `attempt` failed: exponential (base, 2x base, 4x base, ...,
 * capped at max), with "equal jitter": half of it fixed, half random, so instances that failed
 * together (a receiver that was down for everyone) do not all come back at the same instant,
 * and no retry comes sooner than half its step.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

const realScheduler: Scheduler = {
  setTimeout: (run, ms) => {
    const timer = setTimeout(run, ms);
    // The outbox's rounds never keep a process alive by themselves.
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Takes due deliveries from the outbox and hands them to their channels: at once when a hand-off
 * is stored here (`poke`), at each retry's due time, and at least every `pollMs` for what other
 * instances stored or left behind. Each delivery runs under a lease, so with several instances
 * one attempts it at a time; a failure is retried with backoff until the hand-off is
 * `maxAgeMs` old, then marked failed and logged as an error. A restart loses nothing: what is
 * due is in the outbox, and a lease held by a process that died runs out and is taken again.
 */
export class HandoffDispatcher {
  readonly #outbox: HandoffOutbox;
  readonly #channels: ReadonlyMap<ChannelName, HandoffChannel>;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #scheduler: Scheduler;
  readonly #random: () => number;
  readonly #o: typeof DEFAULTS;
  readonly #running = new Map<Promise<void>, Claim>();
  /** Aborted when running deliveries are cut (shutdown, past the grace). */
  readonly #stopping = new AbortController();
  /** Set when shutdown begins: nothing new is claimed from then on. */
  #closing = false;
  #timer: unknown;
  #round: Promise<void> | undefined;
  #again = false;
  #started = false;

  constructor(options: DispatcherOptions) {
    this.#outbox = options.outbox;
    this.#channels = new Map(options.channels.map((channel) => [channel.name, channel]));
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#scheduler = options.scheduler ?? realScheduler;
    this.#random = options.random ?? Math.random;
    this.#o = {
      leaseMs: options.leaseMs ?? DEFAULTS.leaseMs,
      pollMs: options.pollMs ?? DEFAULTS.pollMs,
      maxAgeMs: options.maxAgeMs ?? DEFAULTS.maxAgeMs,
      baseDelayMs: options.baseDelayMs ?? DEFAULTS.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? DEFAULTS.maxDelayMs,
      concurrency: options.concurrency ?? DEFAULTS.concurrency,
    };
  }

  /** Starts the rounds; the first looks at the outbox at once (what was due before a restart). */
  start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    this.poke();
  }

  /** Something was stored: look now rather than at the next timer. */
  poke(): void {
    if (!this.#started || this.#closing) return;
    if (this.#round !== undefined) {
      this.#again = true;
      return;
    }
    this.#wake(0);
  }

  /** Resolves when no round and no delivery is running (tests wait on this between clock moves). */
  async whenIdle(): Promise<void> {
    while (this.#round !== undefined || this.#running.size > 0) {
      await Promise.allSettled([this.#round, ...this.#running.keys()]);
    }
  }

  /**
   * Shutdown: claims nothing more; deliveries running get `graceMs` to finish. Past it they are
   * aborted (a webhook request is cut; an SMTP exchange cannot be) and their leases given back,
   * so the next instance to look, or this one after its restart, tries again at once.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#scheduler.clearTimeout(this.#timer);
    // The round under way (if any) claims nothing more; wait for it, then for what it started.
    await this.#round;
    const finished = Promise.allSettled(this.#running.keys());
    if (!(await within(finished, graceMs))) {
      this.#stopping.abort();
      const left = [...this.#running.values()];
      // A cut webhook attempt gives its lease back itself; what still runs after a moment is let go.
      if (!(await within(Promise.allSettled(this.#running.keys()), 1_000))) {
        for (const claim of left) await this.#outbox.release(claim, this.#now()).catch(() => false);
      }
    }
    this.#stopping.abort();
    for (const channel of this.#channels.values()) await channel.close?.();
  }

  #wake(ms: number): void {
    this.#scheduler.clearTimeout(this.#timer);
    if (this.#closing) return;
    this.#timer = this.#scheduler.setTimeout(() => {
      this.#timer = undefined;
      if (this.#round === undefined) this.#round = this.#runRound().finally(() => (this.#round = undefined));
      else this.#again = true;
    }, ms);
  }

  /** One look at the outbox: claim what is due, as far as free slots allow; then sleep until the next due time. */
  async #runRound(): Promise<void> {
    let wait = this.#o.pollMs;
    try {
      do {
        this.#again = false;
        for (const [name, channel] of this.#channels) {
          const free = this.#o.concurrency - [...this.#running.values()].filter((c) => c.channel === name).length;
          if (free <= 0 || this.#closing) continue;
          for (const claim of await this.#outbox.claim(name, this.#now(), this.#o.leaseMs, free)) this.#run(channel, claim);
        }
      } while (this.#again && !this.#closing);
      const due = await this.#outbox.nextDue([...this.#channels.keys()]);
      if (due !== undefined) wait = Math.max(0, Math.min(wait, due - this.#now()));
    } catch (error) {
      // The outbox is away (Redis down): try again on the next round; nothing is lost.
      this.#log.warn({ err: error }, 'hand-off outbox unavailable; trying again shortly');
    }
    // A poke that came after the claims were made: look again at once.
    this.#wake(this.#again ? 0 : wait);
  }

  #run(channel: HandoffChannel, claim: Claim): void {
    const running: Promise<void> = this.#deliver(channel, claim).finally(() => {
      this.#running.delete(running);
      // A slot is free: there may be more waiting.
      this.poke();
    });
    this.#running.set(running, claim);
  }

  async #deliver(channel: HandoffChannel, claim: Claim): Promise<void> {
    const { handoff, attempt } = claim;
    // The hand-off id, never the conversation id: that one is a credential (it lets a browser read the conversation).
    const log = this.#log.child({ handoffId: handoff.id, channel: channel.name, attempt });
    const started = this.#now();
    try {
      await channel.deliver(handoff, attempt, this.#stopping.signal);
    } catch (error) {
      const reason = error instanceof DeliveryError ? error.message : `unexpected: ${error instanceof Error ? error.message : String(error)}`;
      await this.#settleFailure(claim, reason, log).catch((settleError: unknown) => {
        // The lease runs out by itself and the delivery is taken again.
        log.warn({ err: settleError, reason }, 'hand-off delivery failed and could not be rescheduled; retried when its lease ends');
      });
      return;
    }
    const ms = this.#now() - started;
    try {
      if (await this.#outbox.complete(claim, this.#now())) log.info({ ms }, 'hand-off delivered');
      // Or the conversation was deleted in the support inbox meanwhile, its hand-offs with it.
      else log.warn({ ms }, 'hand-off delivered after its lease ran out or it was deleted; the receiver may get it twice (same idempotency key)');
    } catch (error) {
      log.warn({ err: error, ms }, 'hand-off delivered but not marked; it will be sent again with the same idempotency key');
    }
  }

  async #settleFailure(claim: Claim, reason: string, log: Logger): Promise<void> {
    const now = this.#now();
    if (this.#stopping.signal.aborted) {
      await this.#outbox.release(claim, now);
      log.info('hand-off delivery cut by shutdown; left for the next attempt');
      return;
    }
    const delay = backoffDelay(claim.attempt, this.#o.baseDelayMs, this.#o.maxDelayMs, this.#random);
    const age = now - Date.parse(claim.handoff.createdAt);
    const final = age + delay > this.#o.maxAgeMs;
    const settled = final ? await this.#outbox.fail(claim, reason, now) : await this.#outbox.retry(claim, now + delay, reason, now);
    // Another instance took it over after the lease ran out, or it was deleted with its conversation.
    if (!settled) log.info({ reason }, 'hand-off delivery failed, and it is no longer ours to retry');
    else if (final) log.error({ reason, ageMs: age }, 'hand-off delivery failed for good: the team did not get it on this channel');
    else log.warn({ reason, retryInMs: delay }, 'hand-off delivery failed; retrying');
  }
}

/** True when `promise` settled within `ms` (real time: shutdown runs on the wall clock). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
