import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { createUpstreamFetch, MAX_WHOLE_BODY_BYTES } from './upstream-fetch.js';

/**
 * The openai client's `fetch` (issue 7), through the real SDK against the mock upstream over real
 * HTTP, and against small servers of its own for what the mock does not do (gzip, silence).
 */
let upstream: MockUpstream;
let odd: Server;
let oddUrl: string;
/** Bytes the odd server wrote of its endless JSON answer. */
let hugeWritten = 0;
/** Connections the odd server has accepted. */
let oddConnections = 0;
/** Resolves when the odd server sees the client close a connection it was still writing to. */
let oddClosedEarly: Promise<void>;
let closedEarly = (): void => {};

beforeAll(async () => {
  upstream = await startMockUpstream();
  odd = createServer((req, res) => {
    req.resume();
    if (req.url === '/gzip') {
      res.writeHead(400, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ error: { message: 'Compressed complaint', type: 'invalid_request_error' } })));
    } else if (req.url === '/json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    } else if (req.url === '/endless-error' || req.url === '/endless-json') {
      // A body that never ends: whoever waits for its end waits for ever.
      res.writeHead(req.url === '/endless-error' ? 500 : 200, { 'content-type': req.url === '/endless-error' ? 'text/html' : 'application/json' });
      res.write('<p>'.padEnd(1.5 * 1024 * 1024, 'x'));
      res.on('close', () => closedEarly());
    } else if (req.url === '/huge-json') {
      // A 2xx answer that goes on past any sane size, a MiB at a time, as fast as it is read.
      res.writeHead(200, { 'content-type': 'application/json' });
      const piece = Buffer.alloc(1 << 20, 0x20);
      const more = (): void => {
        while (!res.destroyed) {
          hugeWritten += piece.length;
          if (!res.write(piece)) break;
        }
      };
      res.on('drain', more);
      res.on('close', () => closedEarly());
      more();
    }
    // Anything else: never answers.
  });
  odd.on('connection', () => oddConnections++);
  oddClosedEarly = new Promise((resolve) => (closedEarly = resolve));
  await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
  oddUrl = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await upstream.close();
  odd.closeAllConnections();
  await new Promise((resolve) => odd.close(resolve));
});

const client = (maxRetries = 0) => new OpenAI({ apiKey: 'sk-test', baseURL: upstream.baseUrl, maxRetries, fetch: createUpstreamFetch() });
const ask = (openai: OpenAI, signal?: AbortSignal) =>
  openai.chat.completions.create({ model: 'gpt-mock', stream: true, messages: [{ role: 'user', content: 'Hi' }] }, { signal });

describe('createUpstreamFetch', () => {
  it('streams a completion through the SDK chunk by chunk, cut at awkward places', async () => {
    upstream.script({ kind: 'fixture', file: 'openai-stream-plain.sse' });
    const texts: string[] = [];
    for await (const chunk of await ask(client())) texts.push(chunk.choices[0]?.delta.content ?? '');
    expect(texts.join('').length).toBeGreaterThan(0);
    expect(upstream.requests.at(-1)?.body).toMatchObject({ model: 'gpt-mock', stream: true });
    expect(upstream.requests.at(-1)?.headers.authorization).toBe('Bearer sk-test');
  });

  it('hands the SDK the error body, so an error status keeps its message', async () => {
    upstream.script({ kind: 'error', status: 401, message: 'Incorrect API key provided', type: 'invalid_request_error' });
    await expect(ask(client())).rejects.toMatchObject({ status: 401, message: expect.stringContaining('Incorrect API key provided') });
  });

  it('decodes a gzip body, as fetch does', async () => {
    const response = await createUpstreamFetch()(`${oddUrl}/gzip`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { message: 'Compressed complaint', type: 'invalid_request_error' } });
  });

  it('keeps the connection for the next request', async () => {
    const fetch = createUpstreamFetch();
    const before = oddConnections;
    for (let i = 0; i < 3; i++) expect(await (await fetch(`${oddUrl}/json`)).json()).toEqual({ ok: true });
    expect(oddConnections - before).toBe(1);
  });

  it('reads at most a MiB of an error body, and closes the connection instead of reading the rest', async () => {
    const response = await createUpstreamFetch()(`${oddUrl}/endless-error`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(500);
    expect((await response.arrayBuffer()).byteLength).toBe(1 << 20);
    await oddClosedEarly;
  });

  it('hands over a 2xx answer that is not an event stream as soon as its headers came: its reader decides how much to read', async () => {
    oddClosedEarly = new Promise((resolve) => (closedEarly = resolve));
    const response = await createUpstreamFetch()(`${oddUrl}/endless-json`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    expect((await reader.read()).value?.byteLength).toBeGreaterThan(0);
    await reader.cancel();
    await oddClosedEarly;
  });

  it('ends a 2xx answer that is not an event stream with an error past 64 MiB, and closes the connection', async () => {
    oddClosedEarly = new Promise((resolve) => (closedEarly = resolve));
    const response = await createUpstreamFetch()(`${oddUrl}/huge-json`, { method: 'POST', body: '{}' });
    await expect(response.arrayBuffer()).rejects.toThrow();
    await oddClosedEarly;
    expect(hugeWritten).toBeGreaterThanOrEqual(MAX_WHOLE_BODY_BYTES);
    // What the socket buffers held beyond the limit when it closed, no more.
    expect(hugeWritten).toBeLessThan(MAX_WHOLE_BODY_BYTES + 16 * (1 << 20));
  });

  it('rejects with an AbortError when aborted while waiting for the headers', async () => {
    const controller = new AbortController();
    const pending = createUpstreamFetch()(`${oddUrl}/silent`, { method: 'POST', body: '{}', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('ends the stream quietly and closes the upstream connection when aborted mid-stream', async () => {
    upstream.script({ kind: 'deltas', deltas: ['one', 'two', 'three'], hangAfter: 1 });
    const controller = new AbortController();
    const texts: string[] = [];
    for await (const chunk of await ask(client(), controller.signal)) {
      const text = chunk.choices[0]?.delta.content ?? '';
      texts.push(text);
      if (text === 'one') controller.abort();
    }
    expect(texts).toContain('one');
    expect(texts).not.toContain('two');
    await upstream.waitForAbort();
  });

  it('throws from the stream when the upstream cuts the connection midway', async () => {
    upstream.script({ kind: 'deltas', deltas: ['one', 'two', 'three'], dropAfter: 1 });
    const texts: string[] = [];
    const read = async () => {
      for await (const chunk of await ask(client())) texts.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(read()).rejects.toThrow();
    expect(texts).toContain('one');
  });

  it('fails as a connection error when nothing listens', async () => {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0, fetch: createUpstreamFetch() });
    await expect(ask(openai)).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
  });
});
