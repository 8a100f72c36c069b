import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startDemoUpstream, type DemoUpstream } from './demo-upstream.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { postChat, readEvents, textOf } from '../test/read-sse.js';
import type { MockUpstream } from '../test/mock-upstream.js';

let demo: DemoUpstream;
let server: TestServer;

beforeAll(async () => {
  demo = await startDemoUpstream({ delayMs: 1 });
  // The demo upstream stands where the mock would: the same openai client, the same route.
  const asUpstream = { baseUrl: demo.baseUrl } as MockUpstream;
  server = await startTestServer({ upstream: asUpstream, demo: true });
});
afterAll(async () => {
  await server.close();
  await demo.close();
});

describe('the offline demo model', () => {
  it('streams a canned reply that says it is the demo and how to set a key, through the real path', async () => {
    const { events } = await readEvents(await postChat(server.url, { message: 'How do I reset my password?' }));
    expect(events.map((e) => e.event.type).filter((t) => t !== 'text-delta')).toEqual(['message-start', 'message-end']);
    expect(events.filter((e) => e.event.type === 'text-delta').length).toBeGreaterThan(20);
    const text = textOf(events);
    expect(text).toContain('offline demo model');
    expect(text).toContain('OPENAI_API_KEY');
    expect(text).toContain('How do I reset my password?');
    const end = events.at(-1)!.event;
    expect(end).toMatchObject({ type: 'message-end', finishReason: 'stop' });
    if (end.type === 'message-end') expect(end.usage.outputTokens).toBeGreaterThan(20);
  });

  it('stops at the output-token cap with finish reason length, as a real model would', async () => {
    const capped = await startTestServer({ upstream: { baseUrl: demo.baseUrl } as MockUpstream, demo: true, env: { CHATDROP_MAX_OUTPUT_TOKENS: '12' } });
    try {
      const { events } = await readEvents(await postChat(capped.url, { message: 'Hi' }));
      const end = events.at(-1)!.event;
      expect(end).toMatchObject({ type: 'message-end', finishReason: 'length' });
      if (end.type === 'message-end') expect(end.usage.outputTokens).toBeGreaterThan(0);
      if (end.type === 'message-end') expect(end.usage.outputTokens).toBeLessThanOrEqual(12);
      expect(textOf(events)).toMatch(/^Hello! I'm the \*\*offline demo model/);
    } finally {
      await capped.close();
    }
  });

  it('is announced by /api/config', async () => {
    expect((await request(server.url).get('/api/config')).body.demo).toBe(true);
  });
});
