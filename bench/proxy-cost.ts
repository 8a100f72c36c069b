import { appRequest, openaiRequest, startProxyTrio, type StreamRequest } from './bench-app.js';
import type { ChildServer } from './child-server.js';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { benchPrompt } from './mock-upstream.js';
import { runStreams } from './stream-client.js';

/** Streams per batch, at once: enough to fill the pools, few enough that nothing queues. */
const CONCURRENT = 20;
const BATCHES = 10;
const LONG_CHUNKS = 100;
/** Tokens 2 ms apart, so each arrives in its own read, as a real model's do. */
const INTERVAL_MS = 2;

/**
 * What one request and one token cost the proxy in CPU time (user + system, from the proxy
 * process's own `process.cpuUsage()`), against the raw `pipe()` proxy doing the same. This is
 * the figure behind every latency figure: N streams arriving at once wait N × (cost per request)
 * in one event loop, and N streams of T tokens/s keep N × T × (cost per token) of a core busy.
 *
 * A request is priced from streams of one token; a token from streams of 100 tokens minus that,
 * per extra token. Each server runs alone in its own process; the client and the mock upstream
 * run in others. Last, the heap an open stream keeps alive (see `liveMemory`), the stable part of
 * the capacity benchmark's RSS per stream.
 */
export async function proxyCost(appError: string | undefined): Promise<Measured[]> {
  if (appError !== undefined) return [notMeasured('proxy CPU cost', 'ms', appError)];
  const { pipe, app, stop } = await startProxyTrio();
  try {
    const proxy = await price(app, appRequest);
    const floor = await price(pipe, openaiRequest);
    const proxyLive = await liveMemory(app, appRequest);
    const floorLive = await liveMemory(pipe, openaiRequest);
    return [
      measured({
        figure: 'proxy CPU per request (1-token stream)',
        unit: 'ms',
        value: round(proxy.requestMs, 3),
        baseline: 'pipe() proxy',
        baselineValue: round(floor.requestMs, 3),
        note: `event loop p99 late ${round(proxy.loopP99Ms, 1)} ms (pipe ${round(floor.loopP99Ms, 1)} ms)`,
      }),
      measured({
        figure: 'proxy CPU per token',
        unit: 'µs',
        value: round(proxy.tokenUs, 1),
        baseline: 'pipe() proxy',
        baselineValue: round(floor.tokenUs, 1),
      }),
      measured({
        figure: `live heap per open stream (after a full GC, ${MEMORY_STREAMS} open)`,
        unit: 'KB',
        value: round(proxyLive.heapKb, 1),
        baseline: 'pipe() proxy',
        baselineValue: round(floorLive.heapKb, 1),
        note: `what the streams keep alive; RSS growth also counts garbage not yet collected (external ${round(proxyLive.externalKb, 1)} KB, pipe ${round(floorLive.externalKb, 1)} KB)`,
      }),
    ];
  } finally {
    await stop();
  }
}

const MEMORY_STREAMS = 500;

/**
 * What an open stream keeps alive: the heap after a full collection with `MEMORY_STREAMS` slow
 * streams open (10 tokens/s for 5 s), minus the same after the warm-up, per stream.
 */
async function liveMemory(server: ChildServer, request: (prompt: string) => StreamRequest): Promise<{ heapKb: number; externalKb: number }> {
  const prompt = benchPrompt('stamped', 50, 100);
  await runStreams({ url: server.url, ...request(prompt), n: 20, expectedTokens: 50 });
  const idle = await server.stats(true);
  const spreadMs = MEMORY_STREAMS / 5;
  const running = runStreams({ url: server.url, ...request(prompt), n: MEMORY_STREAMS, expectedTokens: 50, spreadMs });
  // Every stream has started and none has ended (each lasts 5 s).
  await new Promise((resolve) => setTimeout(resolve, spreadMs + 2_000));
  const open = await server.stats(true);
  const run = await running;
  const failed = run.results.find((r) => r.error !== '');
  if (failed !== undefined) throw new Error(`a stream failed: ${failed.error}`);
  return {
    heapKb: (open.heapUsed - idle.heapUsed) / 1024 / MEMORY_STREAMS,
    externalKb: (open.external - idle.external) / 1024 / MEMORY_STREAMS,
  };
}

interface Price {
  requestMs: number;
  tokenUs: number;
  loopP99Ms: number;
}

async function price(server: ChildServer, request: (prompt: string) => StreamRequest): Promise<Price> {
  const batch = async (chunks: number) => {
    const before = await server.stats();
    for (let b = 0; b < BATCHES; b++) {
      const run = await runStreams({
        url: server.url,
        ...request(benchPrompt('stamped', chunks, INTERVAL_MS)),
        n: CONCURRENT,
        expectedTokens: chunks,
      });
      const failed = run.results.find((r) => r.error !== '');
      if (failed !== undefined) throw new Error(`a stream failed: ${failed.error}`);
    }
    const after = await server.stats();
    const cpuUs = after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs;
    return { perStreamUs: cpuUs / (BATCHES * CONCURRENT), loopP99Ms: after.loopDelayP99Ms };
  };
  // Warm-up: JIT, connection pools, SQLite pages.
  await batch(1);
  await batch(LONG_CHUNKS);
  const short = await batch(1);
  const long = await batch(LONG_CHUNKS);
  return {
    requestMs: short.perStreamUs / 1000,
    tokenUs: (long.perStreamUs - short.perStreamUs) / (LONG_CHUNKS - 1),
    loopP99Ms: Math.max(short.loopP99Ms, long.loopP99Ms),
  };
}
