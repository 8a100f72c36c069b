import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseResponse } from './sse-response.js';
import { readEvents } from './test/read-sse.js';

let server: Server;
let url: string;

beforeAll(async () => {
  const app = express();
  // A stream that goes quiet for a while between two events, with a short ping interval.
  app.get('/quiet', (_req, res) => {
    const sse = new SseResponse(res, { pingIntervalMs: 30 });
    sse.start();
    sse.send({ type: 'text-delta', delta: 'a' });
    setTimeout(() => {
      sse.send({ type: 'message-end', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } });
      sse.end();
      sse.end(); // twice is harmless
    }, 200);
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
});
