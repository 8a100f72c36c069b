import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The recorded OpenAI streams (see `fixtures/README.md`: openai-node's snapshots, Apache-2.0), kept
 * in the repository so a fresh clone can run the tests with nothing beside it.
 */
export const FIXTURES_DIR = new URL('./fixtures/', import.meta.url);

export function readFixture(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES_DIR));
}

/** What the mock does with the next request. */
export type MockScript =
  /** Replays a recorded stream byte for byte, cut into chunks of these sizes (cycled). */
  | { kind: 'fixture'; file: string; chunkSizes?: number[]; delayMs?: number }
  /**
   * A generated stream in the real chat.completion.chunk shape. Each delta counts as one output
   * token: like a real upstream, the mock stops at the request's `max_completion_tokens` (or
   * `max_tokens`) with finish reason `length`, and never reports more output tokens than that.
   */
  | {
      kind: 'deltas';
      deltas: string[];
      finishReason?: 'stop' | 'length' | 'content_filter';
      /** null: no usage chunk at all (some compatible servers send none). */
      usage?: { prompt: number; completion: number } | null;
      /** Wait before each content chunk. */
      delayMs?: number;
      /** Destroy the socket after this many content chunks (a dropped connection). */
      dropAfter?: number;
      /** Go silent after this many content chunks, keeping the connection open. */
      hangAfter?: number;
      /** Send OpenAI's in-stream error chunk (`data: {"error": ...}`) after this many content chunks, then end. */
      errorAfter?: number;
      /** The in-stream error's message; OpenAI's generic server error unless given. */
      errorMessage?: string;
      /**
       * Hold the stream before content chunk `delta` until `until` settles, connection open: a
       * reply that is still running for as long as the test needs, whatever the machine's speed.
       */
      holdBefore?: { delta: number; until: Promise<unknown> };
    }
  /** An error status with OpenAI's error body. */
  | { kind: 'error'; status: number; message: string; type?: string; code?: string | null; headers?: Record<string, string> }
  /** Status and headers, then nothing at all. */
  | { kind: 'hang' }
  /** Not even the status line: the request is read and never answered. */
  | { kind: 'silent' }
  /**
   * A server that ignores `stream: true`: one whole `chat.completion` as `200 application/json`,
   * in the real non-streamed shape (`choices[0].message`, `finish_reason`, `usage`).
   */
  | {
      kind: 'completion';
      content: string | null;
      finishReason?: 'stop' | 'length' | 'content_filter' | null;
      refusal?: string | null;
      /** null: no usage field. */
      usage?: { prompt: number; completion: number } | null;
    }
  /**
   * Any answer at all, byte for byte: a status, its headers (no Content-Type unless given), a body;
   * with `hold`, the connection then stays open without ending the body.
   */
  | { kind: 'raw'; status: number; headers?: Record<string, string>; body: string | Buffer; hold?: boolean };

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: any;
  startedAt: number;
  /** True when the client closed the connection before the answer was complete. */
  aborted: boolean;
  abortedAt: number | undefined;
}

export interface MockUpstream {
  /** For the `openai` client's `baseURL`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** `POST /v1/embeddings` requests, kept apart so chat tests count only chat requests. */
  embeddingRequests: RecordedRequest[];
  /** Queues scripts for the next requests; the last one keeps answering once the queue is empty. */
  script(...scripts: MockScript[]): void;
  /** Resolves once a request has been recorded as aborted by the client. */
  waitForAbort(index?: number, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/** Awkward cuts: inside `data:`, between `\n` and `\n`, one byte at a time. */
const DEFAULT_CHUNK_SIZES = [1, 5, 2, 17, 64, 3, 128, 1, 1, 40];

/**
 * An OpenAI-compatible `POST /v1/chat/completions` on 127.0.0.1:0 (node:http), faithful to the
 * wire format, scriptable per test, recording every request and whether the client aborted it.
 */
export async function startMockUpstream(): Promise<MockUpstream> {
  const queue: MockScript[] = [];
  let last: MockScript = { kind: 'deltas', deltas: ['Hello', ' there', '!'] };
  const requests: RecordedRequest[] = [];
  const embeddingRequests: RecordedRequest[] = [];
  const abortWaiters = new Set<() => void>();

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      const record: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text === '' ? undefined : JSON.parse(text),
        startedAt: Date.now(),
        aborted: false,
        abortedAt: undefined,
      };
      if (record.url.split('?')[0]?.endsWith('/embeddings')) {
        embeddingRequests.push(record);
        answerEmbeddings(record.body, res);
        return;
      }
      requests.push(record);
      res.on('close', () => {
        if (!res.writableFinished) {
          record.aborted = true;
          record.abortedAt = Date.now();
          for (const wake of abortWaiters) wake();
        }
      });
      const script = queue.shift() ?? last;
      if (queue.length === 0) last = script;
      void play(script, res, record.body).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    embeddingRequests,
    script(...scripts) {
      queue.push(...scripts);
      const final = scripts.at(-1);
      if (final !== undefined) last = final;
    },
    waitForAbort(index = requests.length - 1, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const record = requests[index];
          if (record?.aborted) {
            abortWaiters.delete(wake);
            clearTimeout(timer);
            resolve(record);
            return true;
          }
          return false;
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => {
          abortWaiters.delete(wake);
          reject(new Error(`request ${index} was not aborted within ${timeoutMs} ms`));
        }, timeoutMs);
        abortWaiters.add(wake);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Cuts the TCP connection once what was written has left (destroy alone discards the buffer). */
async function dropConnection(res: ServerResponse): Promise<void> {
  await new Promise<void>((resolve) => res.write('', () => resolve()));
  await sleep(20);
  res.socket?.destroy();
}

/** The output-token cap a request carries, in either of its two names. */
function outputCap(body: unknown): number {
  const { max_completion_tokens: modern, max_tokens: legacy } = (body ?? {}) as Record<string, unknown>;
  const cap = typeof modern === 'number' ? modern : legacy;
  return typeof cap === 'number' && cap > 0 ? cap : Infinity;
}

async function play(script: MockScript, res: ServerResponse, body: unknown): Promise<void> {
  switch (script.kind) {
    case 'fixture': {
      const bytes = readFixture(script.file);
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
      const sizes = script.chunkSizes ?? DEFAULT_CHUNK_SIZES;
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const size = sizes[i % sizes.length] ?? 16;
        res.write(bytes.subarray(at, at + size));
        at += size;
        if (script.delayMs !== undefined) await sleep(script.delayMs);
        else await new Promise((resolve) => setImmediate(resolve)); // so the chunks stay separate on the wire
      }
      res.end();
      return;
    }
    case 'deltas': {
      const cap = outputCap(body);
      if (script.deltas.length > cap) script = { ...script, deltas: script.deltas.slice(0, cap), finishReason: 'length' };
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
      const id = 'chatcmpl-mock';
      const frame = (choices: unknown[], extra: object = {}): string =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1723031664, model: 'gpt-mock', system_fingerprint: 'fp_mock', choices, ...extra })}\n\n`;
      const choice = (delta: object, finish: string | null = null): object => ({ index: 0, delta, logprobs: null, finish_reason: finish });
      res.write(frame([choice({ role: 'assistant', content: '', refusal: null })]));
      for (const [n, delta] of script.deltas.entries()) {
        if (script.dropAfter === n) {
          await dropConnection(res);
          return;
        }
        if (script.hangAfter === n) return;
        if (script.errorAfter === n) {
          const message = script.errorMessage ?? 'The server had an error while processing your request.';
          res.end(`data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } })}\n\n`);
          return;
        }
        if (script.holdBefore?.delta === n) await script.holdBefore.until.catch(() => {});
        if (script.delayMs !== undefined) await sleep(script.delayMs);
        if (res.destroyed) return;
        res.write(frame([choice({ content: delta })]));
      }
      if (script.dropAfter !== undefined && script.dropAfter >= script.deltas.length) {
        await dropConnection(res);
        return;
      }
      res.write(frame([choice({}, script.finishReason ?? 'stop')]));
      const usage = script.usage === undefined ? { prompt: 17, completion: script.deltas.length } : script.usage && { ...script.usage, completion: Math.min(script.usage.completion, cap) };
      if (usage !== null) {
        res.write(frame([], { usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion } }));
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    case 'error': {
      res.writeHead(script.status, { 'Content-Type': 'application/json', ...script.headers });
      res.end(JSON.stringify({ error: { message: script.message, type: script.type ?? 'invalid_request_error', param: null, code: script.code ?? null } }));
      return;
    }
    case 'hang':
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
      res.flushHeaders();
      return;
    case 'silent':
      return;
    case 'completion': {
      const usage = script.usage === undefined ? { prompt: 17, completion: 5 } : script.usage;
      const message = { role: 'assistant', content: script.content, refusal: script.refusal ?? null, annotations: [] };
      const completion = {
        id: 'chatcmpl-mock',
        object: 'chat.completion',
        created: 1723031664,
        model: 'gpt-mock',
        choices: [{ index: 0, message, logprobs: null, finish_reason: script.finishReason === undefined ? 'stop' : script.finishReason }],
        ...(usage === null ? {} : { usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion } }),
        system_fingerprint: 'fp_mock',
      };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(completion));
      return;
    }
    case 'raw':
      res.writeHead(script.status, script.headers ?? {});
      if (script.hold) res.write(script.body);
      else res.end(script.body);
      return;
    default: {
      const unexpected: never = script;
      throw new Error(`unknown script ${JSON.stringify(unexpected)}`);
    }
  }
}

/** Dimensions of the mock's embeddings. */
const EMBEDDING_DIMENSIONS = 256;

/**
 * OpenAI's `POST /v1/embeddings` answer in its real shape. The vectors are not a model's: each is
 * the hashed bag of its text's character trigrams (within words, lowercased), normalised, so texts
 * sharing word pieces ("invoice", "invoicing") are close and unrelated ones are not. Deterministic,
 * so retrieval with embeddings can be tested and benchmarked offline.
 */
function answerEmbeddings(body: { input?: unknown; model?: unknown } | undefined, res: ServerResponse): void {
  const inputs = typeof body?.input === 'string' ? [body.input] : Array.isArray(body?.input) ? body.input : undefined;
  if (inputs === undefined || !inputs.every((i) => typeof i === 'string')) {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { message: "'input' must be a string or an array of strings", type: 'invalid_request_error', param: 'input', code: null } }));
    return;
  }
  const data = (inputs as string[]).map((text, index) => ({ object: 'embedding', index, embedding: trigramVector(text) }));
  const tokens = (inputs as string[]).reduce((n, text) => n + Math.ceil(text.length / 4), 0);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ object: 'list', data, model: String(body?.model ?? 'mock-embedding'), usage: { prompt_tokens: tokens, total_tokens: tokens } }));
}

export function trigramVector(text: string): number[] {
  const vector = new Array<number>(EMBEDDING_DIMENSIONS).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) {
      let hash = 2166136261;
      for (let j = i; j < i + 3; j++) hash = Math.imul(hash ^ padded.charCodeAt(j), 16777619);
      const slot = (hash >>> 0) % EMBEDDING_DIMENSIONS;
      vector[slot] = (vector[slot] ?? 0) + 1;
    }
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((x) => x / norm);
}
