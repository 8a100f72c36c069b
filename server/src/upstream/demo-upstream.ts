import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

export interface DemoUpstream {
  /** The base URL to give the `openai` client, ending in `/v1`. */
  baseUrl: string;
  close(): Promise<void>;
}

const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * The offline demo model (issue 2): with no `OPENAI_API_KEY`, the server still answers, through
 * the very same path as a real upstream. This is an OpenAI-compatible
 * `POST /v1/chat/completions` on loopback that streams a canned markdown reply word by word in
 * the real wire format (role chunk, content chunks, finish chunk, usage chunk, `[DONE]`), so the
 * `openai` SDK, the stream mapping, the store and the widget are all exercised for real.
 */
export async function startDemoUpstream(options: { delayMs?: number } = {}): Promise<DemoUpstream> {
  const delayMs = options.delayMs ?? 35;
  const server = createServer((req, res) => {
    void handle(req, res, delayMs).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, delayMs: number): Promise<void> {
  if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/chat/completions') {
    sendError(res, 404, 'Only POST /v1/chat/completions exists on the offline demo model.', 'invalid_request_error');
    return;
  }
  let body: { messages?: { role?: string; content?: unknown }[]; stream?: boolean; model?: string; max_completion_tokens?: unknown; max_tokens?: unknown };
  try {
    body = JSON.parse(await readBody(req)) as typeof body;
  } catch {
    sendError(res, 400, 'The request body is not valid JSON.', 'invalid_request_error');
    return;
  }
  if (body.stream !== true) {
    sendError(res, 400, 'The offline demo model only streams.', 'invalid_request_error');
    return;
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const question = [...messages].reverse().find((m) => m.role === 'user')?.content;
  const system = messages.find((m) => m.role === 'system')?.content;
  const knowledge = typeof system === 'string' ? readKnowledge(system) : undefined;
  const text = typeof question === 'string' ? question : '';
  const reply = knowledge === undefined ? demoReply(text) : groundedReply(knowledge);

  let gone = false;
  res.on('close', () => (gone = true));
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });

  const id = `chatcmpl-demo${randomBytes(9).toString('base64url')}`;
  const created = Math.floor(Date.now() / 1000);
  const model = 'chatdrop-offline-demo';
  const chunk = (choices: unknown[], extra: object = {}): string =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
  const choice = (delta: object, finishReason: string | null = null): object => ({ index: 0, delta, logprobs: null, finish_reason: finishReason });

  // The output-token cap, honoured as a real model would (whole words here): the reply stops at
  // it with finish reason `length`, so CHATDROP_MAX_OUTPUT_TOKENS can be seen at work offline.
  const requested = typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : body.max_tokens;
  const cap = typeof requested === 'number' && requested > 0 ? requested : Infinity;
  let completionTokens = 0;
  let finishReason = 'stop';

  res.write(chunk([choice({ role: 'assistant', content: '', refusal: null })]));
  // Words with the whitespace before them, so the text arrives exactly as written.
  for (const piece of reply.match(/\s*\S+/g) ?? []) {
    const tokens = countTokens(piece, AS_PLAIN_TEXT);
    if (completionTokens + tokens > cap) {
      finishReason = 'length';
      break;
    }
    completionTokens += tokens;
    if (gone) return;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (gone) return;
    res.write(chunk([choice({ content: piece })]));
  }
  const promptTokens = messages.reduce((sum, m) => sum + 3 + countTokens(String(m.content ?? ''), AS_PLAIN_TEXT), 3);
  res.write(chunk([choice({}, finishReason)]));
  res.write(
    chunk([], { usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } }),
  );
  res.end('data: [DONE]\n\n');
}

function demoReply(question: string): string {
  const quoted = question.trim().replace(/\s+/g, ' ').slice(0, 120);
  return [
    "Hello! I'm the **offline demo model** of Chatdrop, so I can't really answer yet" +
      (quoted === '' ? '.' : ` your question, “${quoted}${question.trim().length > 120 ? '…' : ''}”.`),
    '',
    'Everything you see is the real path, though: your message went to the Chatdrop server, was stored, ' +
      'and this reply is streaming back word by word over Server-Sent Events.',
    '',
    'To get real answers:',
    '',
    '1. Set `OPENAI_API_KEY` to your key before starting the server.',
    '2. Optionally set `OPENAI_BASE_URL` to any OpenAI-compatible endpoint (OpenRouter, a local model server).',
    '3. Restart with `pnpm start`.',
    '',
    'The key stays on the server; it never reaches the browser.',
  ].join('\n');
}

interface QuotedPassage {
  title: string;
  url: string;
  heading: string;
  text: string;
}

/**
 * The passages the server gave in its `<knowledge>` block (knowledge/prompt.ts), best first, or
 * undefined when the request has no such block (knowledge off). Read with `indexOf` only.
 */
export function readKnowledge(system: string): QuotedPassage[] | undefined {
  const start = system.indexOf('\n<knowledge>\n');
  if (start === -1) return undefined;
  const end = system.indexOf('</knowledge>', start);
  const block = system.slice(start, end === -1 ? undefined : end);
  const passages: QuotedPassage[] = [];
  let at = 0;
  for (;;) {
    const open = block.indexOf('<passage ', at);
    if (open === -1) break;
    const close = block.indexOf('>\n', open);
    const finish = block.indexOf('\n</passage>', close);
    if (close === -1 || finish === -1) break;
    const tag = block.slice(open, close);
    const attribute = (name: string): string => {
      const from = tag.indexOf(` ${name}="`);
      if (from === -1) return '';
      const value = from + name.length + 3;
      return unescape(tag.slice(value, tag.indexOf('"', value)));
    };
    passages.push({ title: attribute('title'), url: attribute('url'), heading: attribute('heading'), text: unescape(block.slice(close + 2, finish)) });
    at = finish + 11;
  }
  return passages;
}

/**
 * The demo model's grounded answer: it cannot write one, so it quotes the most relevant passage
 * it was given, with its page as the source, or says plainly that the help centre does not cover
 * the question, as a real model is told to.
 */
function groundedReply(passages: QuotedPassage[]): string {
  const note = "_I'm the offline demo model, so I quote the most relevant passage of the help centre rather than write an answer. Set `OPENAI_API_KEY` for real answers._";
  const best = passages[0];
  if (best === undefined) {
    return [
      "I don't know: no page of this help centre covers that question, and I'd rather not guess.",
      '',
      'You can ask the support team, or try asking in other words.',
      '',
      note,
    ].join('\n');
  }
  const where = best.heading === '' ? `[${best.title}](${best.url})` : `[${best.title}](${best.url}), “${best.heading}”`;
  const quote = best.text.split('\n').map((line) => (line === '' ? '>' : `> ${line}`)).join('\n');
  return [`From ${where}:`, '', quote, '', note].join('\n');
}

function unescape(text: string): string {
  return text.replace(/&(lt|gt|quot|amp);/g, (_m, name: string) => ({ lt: '<', gt: '>', quot: '"', amp: '&' })[name] ?? '');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function sendError(res: ServerResponse, status: number, message: string, type: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type, param: null, code: null } }));
}
