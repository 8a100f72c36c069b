import { Agent, request } from 'node:http';
import { epochMs } from './mock-upstream.js';

/** Which wire a stream speaks: Chatdrop's SSE events, or OpenAI's chunks (straight from the mock). */
export type StreamFormat = 'chatdrop' | 'openai';

export interface StreamResult {
  /** Empty when the stream delivered every stamped token, in order, and ended cleanly. */
  error: string;
  /** From sending the request to the first token's arrival, ms. */
  firstTokenMs: number;
  /** From sending the request to the end of the response, ms. */
  lastByteMs: number;
  tokens: number;
  /** Per token: arrival minus the mock's send stamp, ms (the time spent in between). */
  delays: number[];
}

export interface StreamRun {
  results: StreamResult[];
  /** The most streams that were open (headers in, end not yet) at one moment. */
  maxOpen: number;
}

export interface StreamRunOptions {
  url: string;
  path: string;
  format: StreamFormat;
  /** Request body of stream i. */
  body: (i: number) => string;
  n: number;
  expectedTokens: number;
  /** Starts are spread evenly over this window (0: all at once). */
  spreadMs?: number;
  timeoutMs?: number;
}

/**
 * Opens `n` concurrent streams with node:http (an agent with unlimited sockets: a browser-like
 * client per stream, not a connection pool that would queue them) and checks every stamped token
 * (`<seq>@<sent at>`, see `mock-upstream.ts`) arrives once and in order.
 */
export async function runStreams(options: StreamRunOptions): Promise<StreamRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  let open = 0;
  let maxOpen = 0;
  const one = (i: number) =>
    new Promise<StreamResult>((resolve) => {
      const started = performance.now();
      const result: StreamResult = { error: '', firstTokenMs: Number.NaN, lastByteMs: Number.NaN, tokens: 0, delays: [] };
      let counted = false;
      let settled = false;
      const settle = (error: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (counted) open--;
        result.lastByteMs = performance.now() - started;
        if (error === '' && result.tokens !== options.expectedTokens) {
          error = `got ${result.tokens} of ${options.expectedTokens} tokens`;
        }
        result.error = error;
        resolve(result);
      };
      const timer = setTimeout(() => {
        req.destroy();
        settle('timeout');
      }, options.timeoutMs ?? 60_000);
      const body = options.body(i);
      const req = request(
        `${options.url}${options.path}`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), accept: 'text/event-stream' },
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            settle(`HTTP ${res.statusCode}`);
            return;
          }
          counted = true;
          open++;
          maxOpen = Math.max(maxOpen, open);
          res.setEncoding('utf8');
          let frames = '';
          let text = '';
          let failure = '';
          res.on('data', (chunk: string) => {
            const arrived = epochMs();
            frames += chunk;
            let end: number;
            while ((end = frames.indexOf('\n\n')) !== -1) {
              const block = frames.slice(0, end);
              frames = frames.slice(end + 2);
              for (const line of block.split('\n')) {
                if (!line.startsWith('data:')) continue;
                const content = payloadText(line.slice(5).trim(), options.format);
                if (content.error !== '') failure ||= content.error;
                text += content.text;
              }
            }
            // Complete tokens are `<seq>@<stamp> `; a token cut between chunks waits for its rest.
            let match: RegExpExecArray | null;
            const token = /^(\d+)@([\d.]+) /;
            while ((match = token.exec(text)) !== null) {
              if (Number(match[1]) !== result.tokens) failure ||= `token ${match[1]} arrived as #${result.tokens}`;
              if (result.tokens === 0) result.firstTokenMs = performance.now() - started;
              result.tokens++;
              result.delays.push(arrived - Number(match[2]));
              text = text.slice(match[0].length);
            }
          });
          res.on('end', () => settle(failure));
          res.on('error', (error) => settle(error.message));
        },
      );
      req.on('error', (error) => settle(error.message));
      req.end(body);
    });
  const spread = options.spreadMs ?? 0;
  const runs = Array.from({ length: options.n }, (_, i) =>
    spread === 0 ? one(i) : new Promise<void>((r) => setTimeout(r, (i * spread) / options.n)).then(() => one(i)),
  );
  const results = await Promise.all(runs);
  agent.destroy();
  return { results, maxOpen };
}

function payloadText(data: string, format: StreamFormat): { text: string; error: string } {
  if (data === '[DONE]') return { text: '', error: '' };
  const parsed = JSON.parse(data) as Record<string, unknown>;
  if (format === 'openai') {
    const choices = parsed.choices as { delta?: { content?: string } }[] | undefined;
    return { text: choices?.[0]?.delta?.content ?? '', error: '' };
  }
  switch (parsed.type) {
    case 'text-delta':
      return { text: String(parsed.delta), error: '' };
    case 'error':
      return { text: '', error: `error event: ${String(parsed.code)}` };
    case 'message-end':
      return { text: '', error: parsed.finishReason === 'stop' ? '' : `ended with ${String(parsed.finishReason)}` };
    default:
      return { text: '', error: '' };
  }
}
