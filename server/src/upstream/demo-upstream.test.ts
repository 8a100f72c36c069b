import { fileURLToPath } from 'node:url';
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
    // Word by word from the demo model (1 ms apart here), several words to an event after the
    // proxy's coalescing: streamed, not one block.
    expect(events.filter((e) => e.event.type === 'text-delta').length).toBeGreaterThan(1);
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

describe('the offline demo model with the demo help centre as its knowledge', () => {
  let grounded: TestServer;
  beforeAll(async () => {
    const help = fileURLToPath(new URL('../../../demo/help/', import.meta.url));
    grounded = await startTestServer({ upstream: { baseUrl: demo.baseUrl } as MockUpstream, demo: true, env: { CHATDROP_KNOWLEDGE: `${help}=http://localhost:8787/help/` } });
    // The first index of a folder is built within a second or two of start.
    for (let i = 0; i < 150 && (await fetch(`${grounded.url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  });
  afterAll(async () => {
    await grounded?.close();
  });

  it('answers by quoting the most relevant passage, with its page as the source', async () => {
    const { events } = await readEvents(await postChat(grounded.url, { message: 'How do I reset my password on my phone?' }));
    const sources = events.find((e) => e.event.type === 'sources')?.event;
    expect(sources?.type === 'sources' && sources.sources[0]).toEqual({ title: 'Reset your password', url: 'http://localhost:8787/help/reset-password' });
    const text = textOf(events);
    expect(text).toMatch(/^From \[Reset your password\]\(http:\/\/localhost:8787\/help\/reset-password\)/);
    expect(text).toContain('> In the Acme Cloud mobile app');
    expect(text).toContain('offline demo model');
  });

  it('says it does not know when no page covers the question', async () => {
    const { events } = await readEvents(await postChat(grounded.url, { message: 'Who won the football world cup?' }));
    expect(events.find((e) => e.event.type === 'sources')?.event).toEqual({ type: 'sources', sources: [] });
    expect(textOf(events)).toContain("I don't know: no page of this help centre covers that question");
  });
});
