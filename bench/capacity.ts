import { appRequest, openaiRequest, startAppChild, type StreamRequest } from './bench-app.js';
import { startChildServer } from './child-server.js';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { benchPrompt } from './mock-upstream.js';
import { percentile } from './percentile.js';
import { runStreams } from './stream-client.js';

const LEVELS = [50, 100, 250, 500, 1_000, 2_000, 5_000] as const;
const CHUNKS = 50;
/** 10 tokens a second per stream: a slow model, so a stream stays open 5 s while the ramp opens. */
const INTERVAL_MS = 100;
const MAX_ADDED_P99_MS = 50;
/**
 * Held means held at once: a proxy too slow to start streams ends the first ones before the last
 * ones begin, so fewer are ever open together, while each token that does flow may look on time.
 */
const MIN_OPEN_SHARE = 0.95;
const TARGET_STREAMS = 5_000;
const TARGET_KB_PER_STREAM = 50;

interface LevelResult {
  n: number;
  held: boolean;
  maxOpen: number;
  p99DelayMs: number;
  directP99DelayMs: number;
  failed: number;
  firstError: string;
  kbPerStream: number;
}

/**
 * Capacity (issue 7): ramps concurrent streams (50, 100, 250, 500, 1,000, 2,000, 5,000; starts spread over
 * N/5 ms) through a fresh proxy process per level. Each level first runs the same streams straight
 * from the mock upstream: that is what the harness itself (client, mock, 2 shared cores) adds, and
 * the proxy's added delay is its p99 token delay (mock's send stamp → client arrival) minus that.
 * A level is held when every stream delivered every token in order, the added p99 is under
 * 50 ms, and at least 95 % of the level's streams were open at one moment. Memory per stream is the proxy's peak RSS over its idle RSS (after a warm-up), divided
 * by the most streams open at once, at the largest level held. The ramp stops at the first level
 * not held.
 */
export async function capacity(appError: string | undefined): Promise<Measured[]> {
  if (appError !== undefined) return [notMeasured('capacity', 'streams', appError, `≥ ${TARGET_STREAMS}`)];
  const mock = await startChildServer(['mock']);
  try {
    const prompt = benchPrompt('stamped', CHUNKS, INTERVAL_MS);
    const levels: LevelResult[] = [];
    for (const n of LEVELS) {
      const direct = await runStreams({ url: mock.url, ...openaiRequest(prompt), n, expectedTokens: CHUNKS, spreadMs: n / 5 });
      const directP99 = percentile(direct.results.flatMap((r) => r.delays), 99);
      const level = await proxyLevel(mock.url, appRequest(prompt), n, directP99);
      levels.push(level);
      if (!level.held) break;
    }
    return rows(levels);
  } finally {
    await mock.stop();
  }
}

async function proxyLevel(upstreamUrl: string, request: StreamRequest, n: number, directP99: number): Promise<LevelResult> {
  const server = await startAppChild(upstreamUrl);
  try {
    // Warm up (JIT, the tokenizer's tables, SQLite pages) before taking the idle RSS.
    await runStreams({ url: server.url, ...request, n: 20, expectedTokens: CHUNKS });
    const idle = await server.rss();
    let peak = idle;
    const sampler = setInterval(() => {
      void server.rss().then((rss) => (peak = Math.max(peak, rss)), () => {});
    }, 100);
    const run = await runStreams({ url: server.url, ...request, n, expectedTokens: CHUNKS, spreadMs: n / 5, timeoutMs: 60_000 });
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

function rows(levels: LevelResult[]): Measured[] {
  const held = Math.max(0, ...levels.filter((l) => l.held).map((l) => l.n));
  // The largest level held: the most streams open at once while the proxy keeps up, so the least
  // GC noise per stream. (At a level not held, requests queue in the proxy and their garbage
  // piles up; that figure goes in the note.)
  const top = levels.filter((l) => l.held).at(-1) ?? levels.at(-1);
  const over = levels.at(-1) !== top ? levels.at(-1) : undefined;
  const out: Measured[] = [
    measured({
      figure: `capacity: concurrent streams held (${1000 / INTERVAL_MS} tokens/s each, all open at once, all in order, p99 added delay < ${MAX_ADDED_P99_MS} ms)`,
      unit: 'streams',
      value: held,
      target: `≥ ${TARGET_STREAMS.toLocaleString('en-US')}`,
      met: held >= TARGET_STREAMS,
      note: held < TARGET_STREAMS ? `short by ${(TARGET_STREAMS - held).toLocaleString('en-US')} (levels tried: ${levels.map((l) => l.n).join(', ')})` : '',
    }),
  ];
  if (top !== undefined) {
    const kb = round(top.kbPerStream, 1);
    out.push(
      measured({
        figure: `memory per open stream (proxy RSS growth / ${top.maxOpen} open)`,
        unit: 'KB',
        value: kb,
        target: `≤ ${TARGET_KB_PER_STREAM} KB`,
        met: kb <= TARGET_KB_PER_STREAM,
        note: [
          kb > TARGET_KB_PER_STREAM ? `over by ${round(kb - TARGET_KB_PER_STREAM, 1)} KB` : '',
          over === undefined ? '' : `${round(over.kbPerStream, 1)} KB at N=${over.n}, not held (${over.maxOpen} open)`,
        ]
          .filter((part) => part !== '')
          .join('; '),
      }),
    );
  }
  for (const level of levels) {
    const added = round(level.p99DelayMs - level.directP99DelayMs, 1);
    out.push(
      measured({
        figure: `N=${level.n} streams: p99 token delay through proxy`,
        unit: 'ms',
        value: round(level.p99DelayMs, 1),
        baseline: 'straight from mock',
        baselineValue: round(level.directP99DelayMs, 1),
        target: `adds < ${MAX_ADDED_P99_MS} ms`,
        met: level.held,
        note: [
          `adds ${added} ms`,
          `${level.maxOpen} open at once${level.maxOpen < MIN_OPEN_SHARE * level.n ? ' (too few: the proxy could not start them fast enough)' : ''}`,
          level.failed > 0 ? `${level.failed} streams failed (${level.firstError})` : '']
          .filter((s) => s !== '')
          .join('; '),
      }),
    );
  }
  return out;
}
