import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { EventSourceMessage } from 'eventsource-parser';
import { MAX_UNFRAMED_CHARS, NotAnEventStreamError, readEventStream } from './read-event-stream.js';
import { createUpstreamFetch } from './upstream-fetch.js';
import { expectLinearAsync, repeat } from '../test/linear-time.js';

const WIRE = 'data: {"a":"héllo 👋"}\r\n\r\n: a comment\n\nevent: note\ndata: one\ndata: two\n\ndata: [DONE]\n\n';
const MESSAGES = [
  { data: '{"a":"héllo 👋"}' },
  { event: 'note', data: 'one\ntwo' },
  { data: '[DONE]' },
];

/** The wire as bytes cut at every awkward place: inside `data:`, between CR and LF, inside 👋. */
function awkwardChunks(wire: string, sizes = [1, 3, 2, 7, 1, 5, 11]): Buffer[] {
  const bytes = Buffer.from(wire, 'utf8');
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

async function collect(body: unknown): Promise<EventSourceMessage[]> {
  const seen: EventSourceMessage[] = [];
  await readEventStream(body, (message) => seen.push(message));
  return seen.map(({ event, data }) => (event === undefined ? { data } : { event, data }));
}

function webStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

describe('readEventStream', () => {
  it('reads a Node stream cut at awkward places: CRLF across chunks, a multibyte character in two, comments, multi-line data', async () => {
    expect(await collect(Readable.from(awkwardChunks(WIRE)))).toEqual(MESSAGES);
  });

  it('reads a web ReadableStream (any other fetch) the same way', async () => {
    expect(await collect(webStream(awkwardChunks(WIRE)))).toEqual(MESSAGES);
  });

  it('reads an event stream an upstream labels text/plain or not at all: our fetch hands it over as a web stream', async () => {
    // Some OpenAI-compatible servers send their event stream with another Content-Type or none;
    // the SDK's asResponse() checks no type, and upstream-fetch.ts reads such an answer whole
    // into a real Response. This is the path that reaches readWeb in production.
    for (const type of ['text/plain; charset=utf-8', undefined]) {
      const server = createServer((req, res) => {
        req.resume();
        res.writeHead(200, type === undefined ? {} : { 'content-type': type });
        res.end(Buffer.concat(awkwardChunks(WIRE)));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
        const openai = new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0, fetch: createUpstreamFetch() });
        const response = await openai.chat.completions.create({ model: 'gpt-mock', stream: true, messages: [{ role: 'user', content: 'Hi' }] }).asResponse();
        expect(response.body).toBeInstanceOf(ReadableStream);
        expect(await collect(response.body)).toEqual(MESSAGES);
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });

  it('rejects with the body\'s own error, a dropped connection or an abort', async () => {
    const body = new PassThrough();
    const reading = collect(body);
    body.write('data: first\n\n');
    const dropped = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    body.destroy(dropped);
    await expect(reading).rejects.toBe(dropped);
  });

  it('rejects as fetch does (TypeError: terminated) when the body closes without ending', async () => {
    const body = new PassThrough();
    const reading = collect(body);
    body.write('data: first\n\n');
    body.destroy();
    await expect(reading).rejects.toThrow(new TypeError('terminated'));
  });

  it('stops at the first message the handler refuses, and destroys the body', async () => {
    const body = new PassThrough();
    const seen: string[] = [];
    const reading = readEventStream(body, (message) => {
      if (message.data === 'bad') throw new SyntaxError('not JSON');
      seen.push(message.data);
    });
    body.write('data: good\n\ndata: bad\n\ndata: never\n\n');
    await expect(reading).rejects.toThrow(SyntaxError);
    expect(seen).toEqual(['good']);
    expect(body.destroyed).toBe(true);
  });

  it('fails an event that grows without end (no line end for a megabyte) instead of buffering it', async () => {
    const body = new PassThrough();
    const reading = collect(body);
    body.write('data: first\n\n');
    const piece = `data: ${'x'.repeat(64 * 1024)}`;
    for (let i = 0; i < 20 && !body.destroyed; i++) body.write(piece);
    await expect(reading).rejects.toThrow(/max buffer size/);
  });

  it('hands back the whole text of a body that carries no event (a JSON completion, an HTML page, nothing), Node or web stream', async () => {
    const json = '{"object":"chat.completion","choices":[{"message":{"content":"héllo 👋"}}]}\n';
    for (const text of [json, '<!doctype html>\n<p>Bad gateway</p>\n', '']) {
      const node = readEventStream(Readable.from(awkwardChunks(text)), () => expect.unreachable());
      expect(await node).toBe(text);
      const web = readEventStream(webStream(awkwardChunks(text)), () => expect.unreachable());
      expect(await web).toBe(text);
    }
    // Once an event has come, the body is an event stream: nothing is kept or handed back.
    expect(await readEventStream(Readable.from(awkwardChunks(WIRE)), () => {})).toBeUndefined();
  });

  it('fails a body that runs past a MiB without an event, and destroys it instead of reading on', async () => {
    const body = new PassThrough();
    const reading = collect(body);
    // Lines, so it is not the one-event limit that stops it: the parser itself buffers nothing.
    const piece = 'no event here\n'.repeat(4096);
    let written = 0;
    for (; written <= 2 * MAX_UNFRAMED_CHARS && !body.destroyed; written += piece.length) body.write(piece);
    await expect(reading).rejects.toBeInstanceOf(NotAnEventStreamError);
    expect(body.destroyed).toBe(true);
    expect(written).toBeLessThan(MAX_UNFRAMED_CHARS + 2 * piece.length);
  });

  it('stops parsing a body of a thousand lines that are no SSE field, and hands it back whole', async () => {
    // The parser makes an Error per ignored line: a megabyte of them held the event loop for seconds.
    const text = 'a\n'.repeat(200_000) + 'data: too late\n\n';
    expect(await readEventStream(Readable.from(awkwardChunks(text, [4096])), () => expect.unreachable())).toBe(text);
  });

  it('fails an event stream that goes on with lines that are no SSE field', async () => {
    const seen: string[] = [];
    const reading = readEventStream(Readable.from(awkwardChunks(`data: first\n\n${'a\n'.repeat(2000)}data: never\n\n`, [4096])), (m) => seen.push(m.data));
    await expect(reading).rejects.toBeInstanceOf(NotAnEventStreamError);
    expect(seen).toEqual(['first']);
  });

  it('fails an event stream that goes on with retry: lines that are no number', async () => {
    // Each costs the parser an Error too (invalid-retry), like a field it does not know.
    const seen: string[] = [];
    const reading = readEventStream(Readable.from(awkwardChunks(`data: first\n\n${'retry: x\n'.repeat(2000)}data: never\n\n`, [4096])), (m) => seen.push(m.data));
    await expect(reading).rejects.toBeInstanceOf(NotAnEventStreamError);
    expect(seen).toEqual(['first']);
  });

  it('answers an event stream without a body with a clear error', async () => {
    await expect(readEventStream(null, () => {})).rejects.toThrow(/without a body/);
  });

  it('takes time linear in its input, however it is cut', async () => {
    // One long line in 7-byte chunks, then many small events: the two ways a parser turns quadratic.
    const make = (chars: number) => `data: ${repeat('a', chars / 2)}\n\n${repeat('data: b\n\n', chars / 2)}`;
    await expectLinearAsync('readEventStream', make, (input) => collect(Readable.from(awkwardChunks(input, [7]))));
  });

  it('takes time linear in a body without events, kept until its end', async () => {
    const make = (chars: number) => `{"text":"${repeat('a\\n', chars / 2)}"}\n${repeat('<p>line</p>\n', chars / 2)}`;
    await expectLinearAsync('readEventStream (no events)', make, (input) => collect(Readable.from(awkwardChunks(input, [7]))));
  });
});
