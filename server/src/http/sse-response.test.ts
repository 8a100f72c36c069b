import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseResponse } from './sse-response.js';
import { readEvents } from '../test/read-sse.js';

let server: Server;
let url: string;
/** What `/batched` passed to the real response's `write` and `end`, in order. */
let batchedWrites: string[] = [];
/** Resolved by the test once it has read the first event of `/prompt`. */
let firstEventRead: () => void = () => {};

const delta = (text: string) => ({ type: 'text-delta' as const, delta: text });
const end = { type: 'message-end' as const, finishReason: 'stop' as const, usage: { inputTokens: 1, outputTokens: 1 } };

beforeAll(async () => {
  const app = express();
  // A stream that goes quiet for a while between two events, with a short ping interval.
  app.get('/quiet', (_req, res) => {
    const sse = new SseResponse(res, { pingIntervalMs: 30 });
    sse.start();
    sse.send(delta('a'));
    setTimeout(() => {
      sse.send(end);
      sse.end();
      sse.end(); // twice is harmless
    }, 200);
  });
  // Three events in one tick, one in a later tick, then the end in the same tick as the last event.
  app.get('/batched', (_req, res) => {
    batchedWrites = [];
    const write = res.write.bind(res);
    const finish = res.end.bind(res);
    res.write = ((chunk: string) => (batchedWrites.push(chunk), write(chunk))) as typeof res.write;
    res.end = ((chunk?: string) => (batchedWrites.push(`end:${chunk ?? ''}`), finish(chunk))) as typeof res.end;
    const sse = new SseResponse(res);
    sse.start();
    sse.send(delta('a'));
    sse.send(delta('b'));
    sse.send(delta('c'));
    setImmediate(() => {
      sse.send(end);
      sse.end();
    });
  });
  // The second event is sent only once the client has read the first: a first event held back
  // for company would never arrive.
  app.get('/prompt', (_req, res) => {
    const sse = new SseResponse(res);
    sse.start();
    sse.send(delta('first'));
    void new Promise<void>((resolve) => (firstEventRead = resolve)).then(() => {
      sse.send(end);
      sse.end();
    });
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('SseResponse', () => {
  it('writes the contract headers, ids from 1, and pings while the stream is quiet', async () => {
    const response = await fetch(`${url}/quiet`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const { events, comments } = await readEvents(response);
    expect(events.map((e) => e.id)).toEqual(['1', '2']);
    expect(comments.filter((c) => c.trim() === 'ping').length).toBeGreaterThanOrEqual(2);
  });

  it('writes the events of one tick together, and the last event with the end of the response', async () => {
    const { events } = await readEvents(await fetch(`${url}/batched`));
    expect(events.map((e) => e.id)).toEqual(['1', '2', '3', '4']);
    expect(batchedWrites).toHaveLength(2);
    expect(batchedWrites[0]).toBe('id: 1\ndata: {"type":"text-delta","delta":"a"}\n\n' +
      'id: 2\ndata: {"type":"text-delta","delta":"b"}\n\n' +
      'id: 3\ndata: {"type":"text-delta","delta":"c"}\n\n');
    expect(batchedWrites[1]).toMatch(/^end:id: 4\ndata: \{"type":"message-end"/);
  });

  it('sends an event without waiting for the next one', async () => {
    const response = await fetch(`${url}/prompt`);
    const { events } = await readEvents(response, (event) => {
      if (event.type === 'text-delta') firstEventRead();
    });
    expect(events.map((e) => e.event.type)).toEqual(['text-delta', 'message-end']);
  });
});
