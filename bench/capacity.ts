import { appRequest, openaiRequest, startAppChild, type StreamRequest } from './bench-app.js';
import { startChildServer } from './child-server.js';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { benchPrompt } from './mock-upstream.js';
import { percentile } from './percentile.js';
import { scaleOutUnavailable, startScaleOut } from './scale-out.js';
import { runStreams } from './stream-client.js';

const LEVELS = [100, 250, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 8_000] as const;
const CHUNKS = 50;
/** 10 tokens a second per stream: a slow model, so a stream stays open 5 s while the ramp opens. */
const INTERVAL_MS = 100;
const MAX_ADDED_P99_MS = 50;
/**
 * Held means held at once: a proxy too slow to start streams ends the first ones before the last
 * ones begin, so fewer are ever open together, while each token that does flow may look on time.
 */
const MIN_OPEN_SHARE = 0.95;
/** Targets: streams one instance holds, and the share of what the `pipe()` floor holds in the same run. */
const TARGET_STREAMS = 3_000;
const TARGET_PIPE_SHARE = 0.6;
const TARGET_KB_PER_STREAM = 30;

/** What takes the streams at one level: started fresh, so its RSS growth is that level's alone. */
interface Running {
  url: string;
  rss(): Promise<number>;
  stop(): Promise<void>;
}

interface Contender {
  key: 'pipe' | 'one' | 'two';
  label: string;
  request: StreamRequest;
  start(upstreamUrl: string): Promise<Running>;
  levels: LevelResult[];
  /** Still ramping: every level so far was held. */
  ramping: boolean;
  /** Why it could not be measured at all. */
  unavailable?: string;
}

interface LevelResult {
  n: number;
  held: boolean;
  maxOpen: number;
  p99DelayMs: number;
  directP99DelayMs: number;
  failed: number;
  firstError: string;
  kbPerStream: number;
  /** 2 when the first try was not held (the result is the second's). */
  tries?: number;
}

/**
 * Capacity: ramps concurrent streams (100 … 8,000; starts spread over N/5 ms) through three
 * contenders, each started fresh at each level, in the same run:
 *
 * - the `pipe()` proxy, the floor: what this machine (client, mock and proxy on 2 shared cores)
 *   allows at all;
 * - one instance of the real proxy (`bench-app.ts`: SQLite, one event loop);
 * - two instances on one Redis behind nginx, as the README's deployment recipe runs one instance
 *   per core (`scale-out.ts`: `node server/dist/main.js` twice, the repository's nginx template).
 *
 * Each level first runs the same streams straight from the mock upstream: that is what the
 * harness itself adds, and a contender's added delay is its p99 token delay (mock's send stamp →
 * client arrival) minus that. A level is held when every stream delivered every token in order,
 * the added p99 is under 50 ms, and at least 95 % of the level's streams were open at one moment.
 * Memory per stream is the contender's peak RSS over its idle RSS (after a warm-up), divided by
 * the most streams open at once, at its largest level held. Each contender stops at its first
 * level not held in two tries.
 */
export async function capacity(appError: string | undefined): Promise<Measured[]> {
  if (appError !== undefined) return [notMeasured('capacity', 'streams', appError, `≥ ${TARGET_STREAMS.toLocaleString('en-US')}`)];
  const prompt = benchPrompt('stamped', CHUNKS, INTERVAL_MS);
  const scaleOutMissing = scaleOutUnavailable();
  const contenders: Contender[] = [
    {
      key: 'pipe',
      label: 'pipe() proxy',
      request: openaiRequest(prompt),
      start: (upstream) => startChildServer(['pipe', upstream]),
      levels: [],
      ramping: true,
    },
    { key: 'one', label: 'one instance', request: appRequest(prompt), start: (upstream) => startAppChild(upstream), levels: [], ramping: true },
    {
      key: 'two',
      label: 'two instances on one Redis behind nginx',
      request: appRequest(prompt),
      start: (upstream) => startScaleOut(upstream, 2),
      levels: [],
      ramping: scaleOutMissing === undefined,
      ...(scaleOutMissing === undefined ? {} : { unavailable: scaleOutMissing }),
    },
  ];
  const mock = await startChildServer(['mock']);
  try {
    for (const n of LEVELS) {
      const ramping = contenders.filter((c) => c.ramping);
      if (ramping.length === 0) break;
      process.stderr.write(`bench: capacity N=${n}: ${ramping.map((c) => c.key).join(', ')}\n`);
      const direct = await runStreams({ url: mock.url, ...openaiRequest(prompt), n, expectedTokens: CHUNKS, spreadMs: n / 5 });
      const directP99 = percentile(direct.results.flatMap((r) => r.delays), 99);
      for (const contender of ramping) {
        const attempt = () => runLevel(contender, mock.url, n, directP99).catch((error: unknown) => failedLevel(n, directP99, error));
        // Another session's burst on the shared cores can stall any process for 100 ms and more;
        // a level not held is tried once more, with fresh processes, before the ramp stops.
        let level = await attempt();
        if (!level.held) level = { ...(await attempt()), tries: 2 };
        contender.levels.push(level);
        contender.ramping = level.held;
      }
    }
    return rows(contenders);
  } finally {
    await mock.stop();
  }
}

async function runLevel(contender: Contender, upstreamUrl: string, n: number, directP99: number): Promise<LevelResult> {
  const server = await contender.start(upstreamUrl);
  try {
    // Warm up (JIT, the tokenizer's tables, SQLite pages, connection pools) before the idle RSS.
    await runStreams({ url: server.url, ...contender.request, n: 20, expectedTokens: CHUNKS });
    const idle = await server.rss();
    let peak = idle;
    const sampler = setInterval(() => {
      void server.rss().then((rss) => (peak = Math.max(peak, rss)), () => {});
    }, 100);
    const run = await runStreams({ url: server.url, ...contender.request, n, expectedTokens: CHUNKS, spreadMs: n / 5, timeoutMs: 60_000 });
    clearInterval(sampler);
    const failed = run.results.filter((r) => r.error !== '');
    const p99DelayMs = percentile(run.results.flatMap((r) => r.delays), 99);
    return {
      n,
      held: failed.length === 0 && p99DelayMs - directP99 < MAX_ADDED_P99_MS && run.maxOpen >= MIN_OPEN_SHARE * n,
      maxOpen: run.maxOpen,
      p99DelayMs,
      directP99DelayMs: directP99,
      failed: failed.length,
      firstError: failed[0]?.error ?? '',
      kbPerStream: (peak - idle) / 1024 / Math.max(1, run.maxOpen),
    };
  } finally {
    await server.stop();
  }
}

function failedLevel(n: number, directP99: number, error: unknown): LevelResult {
  return { n, held: false, maxOpen: 0, p99DelayMs: Number.NaN, directP99DelayMs: directP99, failed: n, firstError: error instanceof Error ? error.message : String(error), kbPerStream: Number.NaN };
}

function heldBy(contender: Contender): number {
  return Math.max(0, ...contender.levels.filter((l) => l.held).map((l) => l.n));
}

/** "≥" when the contender held the top level tried: it might hold more. */
function heldText(contender: Contender): string {
  const held = heldBy(contender);
  return contender.levels.at(-1)?.held === true && held === LEVELS.at(-1) ? `${held.toLocaleString('en-US')} (the top level tried)` : held.toLocaleString('en-US');
}

/** The largest level held: the most streams open at once while keeping up, so the least GC noise per stream. */
function memoryLevel(contender: Contender): LevelResult | undefined {
  return contender.levels.filter((l) => l.held).at(-1);
}

function rows(contenders: Contender[]): Measured[] {
  const [pipe, one, two] = contenders as [Contender, Contender, Contender];
  const pipeHeld = heldBy(pipe);
  const oneHeld = heldBy(one);
  const share = pipeHeld === 0 ? 0 : oneHeld / pipeHeld;
  const title = `${1000 / INTERVAL_MS} tokens/s each, all open at once, all in order, p99 added delay < ${MAX_ADDED_P99_MS} ms`;
  const out: Measured[] = [
    measured({
      figure: `capacity, one instance: concurrent streams held (${title})`,
      unit: 'streams',
      value: oneHeld,
      baseline: 'pipe() proxy',
      baselineValue: pipeHeld,
      target: `≥ ${TARGET_STREAMS.toLocaleString('en-US')} and ≥ ${TARGET_PIPE_SHARE * 100} % of pipe()`,
      met: oneHeld >= TARGET_STREAMS && share >= TARGET_PIPE_SHARE,
      note: [
        `${round(share * 100, 0)} % of pipe() (which held ${heldText(pipe)}; levels tried ${pipe.levels.map((l) => l.n).join(', ')})`,
        oneHeld < TARGET_STREAMS ? `short of ${TARGET_STREAMS.toLocaleString('en-US')} by ${(TARGET_STREAMS - oneHeld).toLocaleString('en-US')}` : '',
        `levels tried ${one.levels.map((l) => l.n).join(', ')}`,
      ]
        .filter((s) => s !== '')
        .join('; '),
    }),
    two.unavailable !== undefined
      ? notMeasured('capacity, two instances on one Redis behind nginx', 'streams', two.unavailable)
      : measured({
          figure: 'capacity, two instances on one Redis behind nginx (one per core, the deployment recipe)',
          unit: 'streams',
          value: heldBy(two),
          baseline: 'one instance',
          baselineValue: oneHeld,
          note: `levels tried ${two.levels.map((l) => l.n).join(', ')}; nginx, Redis, the client and the mock share the same 2 cores`,
        }),
  ];
  const top = memoryLevel(one);
  const pipeTop = memoryLevel(pipe);
  if (top !== undefined) {
    const kb = round(top.kbPerStream, 1);
    const over = one.levels.at(-1) !== top ? one.levels.at(-1) : undefined;
    out.push(
      measured({
        figure: `memory per open stream, one instance (RSS growth / ${top.maxOpen} open)`,
        unit: 'KB',
        value: kb,
        baseline: pipeTop === undefined ? '' : `pipe() at ${pipeTop.maxOpen} open`,
        baselineValue: pipeTop === undefined ? null : round(pipeTop.kbPerStream, 1),
        target: `≤ ${TARGET_KB_PER_STREAM} KB`,
        met: kb <= TARGET_KB_PER_STREAM,
        note: [
          kb > TARGET_KB_PER_STREAM ? `over by ${round(kb - TARGET_KB_PER_STREAM, 1)} KB` : '',
          over === undefined || Number.isNaN(over.kbPerStream) ? '' : `${round(over.kbPerStream, 1)} KB at N=${over.n}, not held (${over.maxOpen} open)`,
        ]
          .filter((part) => part !== '')
          .join('; '),
      }),
    );
  }
  const twoTop = memoryLevel(two);
  if (twoTop !== undefined) {
    out.push(
      measured({
        figure: `memory per open stream, two instances (their RSS growth together / ${twoTop.maxOpen} open)`,
        unit: 'KB',
        value: round(twoTop.kbPerStream, 1),
        note: 'nginx and Redis not counted',
      }),
    );
  }
  for (const contender of [one, two]) {
    for (const level of contender.levels) {
      const added = round(level.p99DelayMs - level.directP99DelayMs, 1);
      out.push(
        measured({
          figure: `N=${level.n} streams, ${contender.label}: p99 token delay`,
          unit: 'ms',
          value: Number.isNaN(level.p99DelayMs) ? null : round(level.p99DelayMs, 1),
          baseline: 'straight from mock',
          baselineValue: round(level.directP99DelayMs, 1),
          target: `adds < ${MAX_ADDED_P99_MS} ms`,
          met: level.held,
          note: [
            Number.isNaN(added) ? '' : `adds ${added} ms`,
            `${level.maxOpen} open at once${level.maxOpen < MIN_OPEN_SHARE * level.n ? ' (too few: streams could not be started fast enough)' : ''}`,
            level.failed > 0 ? `${level.failed} streams failed (${level.firstError})` : '',
            level.tries === 2 ? 'second try' : '',
          ]
            .filter((s) => s !== '')
            .join('; '),
        }),
      );
    }
  }
  return out;
}
