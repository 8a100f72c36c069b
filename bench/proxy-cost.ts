import { join } from 'node:path';
import { appRequest, openaiRequest, startAppChild, startProxyTrio, type StreamRequest } from './bench-app.js';
import type { ChildServer } from './child-server.js';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { benchPrompt } from './mock-upstream.js';
import { median } from './percentile.js';
import { repoRoot } from './repo-root.js';
import { runStreams } from './stream-client.js';

/** Streams per batch, at once: enough to fill the pools, few enough that nothing queues. */
const CONCURRENT = 20;
/** Batches per measurement; each round measures every server once, and the rounds interleave. */
const BATCHES = 4;
const ROUNDS = 3;
const LONG_CHUNKS = 100;
/** Tokens 2 ms apart, so each arrives in its own read, as a real model's do. */
const INTERVAL_MS = 2;
/** Targets, as ratios to the `pipe()` floor measured in the same run. */
const TARGET_REQUEST_RATIO = 2.5;
const TARGET_TOKEN_RATIO = 1.5;
/** The follow-up turns: conversations of this many earlier turns, each answer about this long. */
const HISTORY_TURNS = 10;
const HISTORY_ANSWER_TOKENS = 300;
/** A question the demo help centre has an answer to, for the knowledge-on price. */
const KNOWLEDGE_QUESTION = 'How do I cancel my plan and get a refund?';

/**
 * What one request and one token cost the proxy in CPU time (user + system, from the proxy
 * process's own `process.cpuUsage()`), against the raw `pipe()` proxy doing the same. This is
 * the figure behind every latency figure: N streams arriving at once wait N × (cost per request)
 * in one event loop, and N streams of T tokens/s keep N × T × (cost per token) of a core busy.
 *
 * A request is priced from streams of one token; a token from streams of 100 tokens minus that,
 * per extra token. Each server runs alone in its own process; the client and the mock upstream
 * run in others. The servers take turns, round after round, and each figure is the median of the
 * rounds: on a shared machine the load moves within a minute, and turns spread it over both.
 *
 * Besides the new-conversation request of the headline figures: a follow-up in a conversation
 * that already holds `HISTORY_TURNS` long answers (the history path: the stored messages read and
 * measured against the token budget), and a request with knowledge on (the demo help centre's
 * pages in the same SQLite file), whose difference is what grounding adds. Last, the heap an open
 * stream keeps alive (see `liveMemory`), the stable part of the capacity benchmark's RSS per
 * stream.
 */
export async function proxyCost(appError: string | undefined): Promise<Measured[]> {
  if (appError !== undefined) return [notMeasured('proxy CPU cost', 'ms', appError)];
  const { mock, pipe, app, stop } = await startProxyTrio();
  let knowing: ChildServer | undefined;
  try {
    knowing = await startAppChild(mock.url, undefined, { knowledgeDir: join(repoRoot, 'demo', 'help') }).catch(() => undefined);
    const followUps = await conversationsWithHistory(app.url);
    const followUp = (prompt: string): StreamRequest => ({
      ...appRequest(prompt),
      body: (i) => JSON.stringify({ conversationId: followUps[i % followUps.length], message: prompt }),
    });
    const grounded = (prompt: string): StreamRequest => appRequest(`${KNOWLEDGE_QUESTION} ${prompt}`);

    // Warm-up: JIT, connection pools, SQLite pages, the tokenizer's tables.
    const warmUps: [ChildServer, (prompt: string) => StreamRequest][] = [[app, appRequest], [pipe, openaiRequest], [app, followUp]];
    if (knowing) warmUps.push([knowing, grounded]);
    for (const [server, request] of warmUps) {
      await batch(server, request, 1, 2);
      await batch(server, request, LONG_CHUNKS, 1);
    }
    const samples = { proxy: new Prices(), floor: new Prices(), followUp: [] as number[], knowledge: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      await samples.proxy.measure(app, appRequest);
      await samples.floor.measure(pipe, openaiRequest);
      samples.followUp.push((await batch(app, followUp, 1)).perStreamUs);
      if (knowing) samples.knowledge.push((await batch(knowing, grounded, 1)).perStreamUs);
    }
    const proxyLive = await liveMemory(app, appRequest);
    const floorLive = await liveMemory(pipe, openaiRequest);

    const proxy = samples.proxy.result();
    const floor = samples.floor.result();
    const requestRatio = proxy.requestMs / floor.requestMs;
    const tokenRatio = proxy.tokenUs / floor.tokenUs;
    const followUpMs = median(samples.followUp) / 1000;
    const rows = [
      measured({
        figure: 'proxy CPU per request (1-token stream)',
        unit: 'ms',
        value: round(proxy.requestMs, 3),
        baseline: 'pipe() proxy',
        baselineValue: round(floor.requestMs, 3),
        target: `≤ ${TARGET_REQUEST_RATIO}× pipe`,
        met: requestRatio <= TARGET_REQUEST_RATIO,
        note: [
          `median of ${ROUNDS} rounds: ${proxy.requestSpread} (pipe ${floor.requestSpread})`,
          `event loop p99 late ${round(proxy.loopP99Ms, 1)} ms (pipe ${round(floor.loopP99Ms, 1)} ms)`,
        ].join('; '),
      }),
      measured({
        figure: 'proxy CPU per token',
        unit: 'µs',
        value: round(proxy.tokenUs, 1),
        baseline: 'pipe() proxy',
        baselineValue: round(floor.tokenUs, 1),
        target: `≤ ${TARGET_TOKEN_RATIO}× pipe`,
        met: tokenRatio <= TARGET_TOKEN_RATIO,
        note: `tokens ${INTERVAL_MS} ms apart; median of ${ROUNDS} rounds: ${proxy.tokenSpread} (pipe ${floor.tokenSpread})`,
      }),
      measured({
        figure: `proxy CPU per follow-up request (1-token stream, ${HISTORY_TURNS} earlier turns of ~${HISTORY_ANSWER_TOKENS} tokens)`,
        unit: 'ms',
        value: round(followUpMs, 3),
        baseline: 'a new conversation',
        baselineValue: round(proxy.requestMs, 3),
        note: `the history read and fitted to CHATDROP_HISTORY_TOKENS; ${round(followUpMs / floor.requestMs, 2)}× pipe`,
      }),
      knowing === undefined
        ? notMeasured('proxy CPU per request, knowledge on (demo help centre)', 'ms', 'the app with knowledge did not start')
        : measured({
            figure: 'proxy CPU per request, knowledge on (demo help centre, a question it answers)',
            unit: 'ms',
            value: round(median(samples.knowledge) / 1000, 3),
            baseline: 'knowledge off',
            baselineValue: round(proxy.requestMs, 3),
            note: `grounding adds ${round(median(samples.knowledge) / 1000 - proxy.requestMs, 3)} ms (retrieval, the grounded prompt, sources stored and sent)`,
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
    return rows;
  } finally {
    await knowing?.stop();
    await stop();
  }
}

/** CPU per request and per token, one sample of each per round. */
class Prices {
  readonly #requestUs: number[] = [];
  readonly #tokenUs: number[] = [];
  #loopP99Ms = 0;

  async measure(server: ChildServer, request: (prompt: string) => StreamRequest): Promise<void> {
    const short = await batch(server, request, 1);
    const long = await batch(server, request, LONG_CHUNKS);
    this.#requestUs.push(short.perStreamUs);
    this.#tokenUs.push((long.perStreamUs - short.perStreamUs) / (LONG_CHUNKS - 1));
    this.#loopP99Ms = Math.max(this.#loopP99Ms, short.loopP99Ms, long.loopP99Ms);
  }

  result(): { requestMs: number; tokenUs: number; loopP99Ms: number; requestSpread: string; tokenSpread: string } {
    return {
      requestMs: median(this.#requestUs) / 1000,
      tokenUs: median(this.#tokenUs),
      loopP99Ms: this.#loopP99Ms,
      requestSpread: spread(this.#requestUs.map((us) => us / 1000), 'ms'),
      tokenSpread: spread(this.#tokenUs, 'µs'),
    };
  }
}

function spread(values: number[], unit: string): string {
  return `${round(Math.min(...values), 2)}–${round(Math.max(...values), 2)} ${unit}`;
}

async function batch(server: ChildServer, request: (prompt: string) => StreamRequest, chunks: number, batches = BATCHES): Promise<{ perStreamUs: number; loopP99Ms: number }> {
  const before = await server.stats();
  for (let b = 0; b < batches; b++) {
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
  return { perStreamUs: cpuUs / (batches * CONCURRENT), loopP99Ms: after.loopDelayP99Ms };
}

/**
 * `CONCURRENT` conversations of `HISTORY_TURNS` turns each, every answer a markdown text of
 * `HISTORY_ANSWER_TOKENS` tokens, made through the proxy itself; their ids.
 */
async function conversationsWithHistory(url: string): Promise<string[]> {
  const ids: (string | undefined)[] = Array.from({ length: CONCURRENT }, () => undefined);
  for (let turn = 0; turn < HISTORY_TURNS; turn++) {
    await Promise.all(
      ids.map(async (id, i) => {
        const message = `Question ${turn} of conversation ${i}, at some length so it counts. ${benchPrompt('markdown', HISTORY_ANSWER_TOKENS, 0)}`;
        const response = await fetch(`${url}/api/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(id === undefined ? { message } : { conversationId: id, message }),
        });
        const text = await response.text();
        if (!text.includes('"finishReason":"stop"')) throw new Error(`a history turn failed: HTTP ${response.status} ${text.slice(0, 200)}`);
        ids[i] ??= /"conversationId":"([^"]+)"/.exec(text)?.[1];
      }),
    );
  }
  return ids.map((id) => {
    if (id === undefined) throw new Error('a conversation got no id');
    return id;
  });
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
