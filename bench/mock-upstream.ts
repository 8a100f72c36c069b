import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { adversarialTokens, markdownTokens } from './markdown-tokens.js';

/**
 * The benchmarks' OpenAI stand-in: `POST /v1/chat/completions` answers a Chat Completions stream
 * in the recorded wire shape (`shared/fixtures/openai-stream-plain.sse`: a role chunk, content
 * chunks, a finish chunk, a usage chunk, `[DONE]`).
 *
 * The last user message says what to stream, so one upstream serves every benchmark:
 * `bench:<kind>:<chunks>:<intervalMs>`.
 * - `stamped`: chunk i is `"<i>@<sent at, epoch ms> "`, so a reader can check that every token
 *   arrived, in order, and how long it spent in between (the proxy's added delay).
 * - `markdown`: a markdown answer of that many tokens ending in `END`, for the render benchmark.
 * - `adversarial`: an answer of that many 4-character tokens built to make a markdown parser
 *   rescan (bench/markdown.ts), ending in `END`.
 * An interval of 0 writes as fast as the socket drains.
 */
export function createMockUpstream(): Server {
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404).end();
      return;
    }
    void readJson(req).then(
      (body) => stream(body, res),
      () => res.writeHead(400).end(),
    );
  });
  server.keepAliveTimeout = 60_000;
  return server;
}

export function benchPrompt(kind: 'stamped' | 'markdown' | 'adversarial', chunks: number, intervalMs: number): string {
  return `bench:${kind}:${chunks}:${intervalMs}`;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

interface CompletionBody {
  model?: string;
  messages?: { role: string; content: unknown }[];
  stream_options?: { include_usage?: boolean };
}

function stream(body: CompletionBody, res: ServerResponse): void {
  const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  const match = /bench:(stamped|markdown|adversarial):(\d+):(\d+)/.exec(String(lastUser?.content ?? ''));
  const kind = match?.[1] ?? 'stamped';
  const chunks = Number(match?.[2] ?? 50);
  const intervalMs = Number(match?.[3] ?? 10);
  const markdown = kind === 'markdown' ? markdownTokens(chunks) : kind === 'adversarial' ? adversarialTokens(chunks) : [];
  const model = body.model ?? 'bench-model';
  const created = Math.floor(Date.now() / 1000);
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_bench', choices, ...extra })}\n\n`;
  const delta = (d: Record<string, unknown>, finish: string | null = null) =>
    frame([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(delta({ role: 'assistant', content: '', refusal: null }));
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  res.on('close', () => {
    closed = true;
    clearTimeout(timer);
  });
  const content = (n: number) => (kind !== 'stamped' ? (markdown[n] ?? '') : `${n}@${epochMs().toFixed(3)} `);
  const finish = () => {
    res.write(delta({}, 'stop'));
    if (body.stream_options?.include_usage === true) {
      res.write(frame([], { usage: { prompt_tokens: 12, completion_tokens: chunks, total_tokens: chunks + 12 } }));
    }
    res.end('data: [DONE]\n\n');
  };
  const next = () => {
    if (closed) return;
    if (intervalMs > 0) {
      res.write(delta({ content: content(i) }));
      i++;
      if (i < chunks) timer = setTimeout(next, intervalMs);
      else finish();
      return;
    }
    // As fast as possible: write until the socket asks us to wait, then resume on drain.
    while (i < chunks) {
      const ok = res.write(delta({ content: content(i) }));
      i++;
      if (!ok) {
        res.once('drain', next);
        return;
      }
    }
    finish();
  };
  if (intervalMs > 0) timer = setTimeout(next, intervalMs);
  else next();
}

async function readJson(req: IncomingMessage): Promise<CompletionBody> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return JSON.parse(Buffer.concat(parts).toString('utf8')) as CompletionBody;
}
