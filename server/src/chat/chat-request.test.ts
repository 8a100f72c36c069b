import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { isApiErrorBody } from '@chatdrop/shared';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';

let upstream: MockUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({
    upstream,
    // The picker on, so the model field counts (without it, model-picker.test.ts).
    env: { CHATDROP_MAX_MESSAGE_CHARS: '50', CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1', CHATDROP_MODEL_PICKER: '1', CHATDROP_HISTORY_TOKENS: '200', CHATDROP_RATE_LIMIT: '1000' },
  });
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

async function expectRefused(
  send: (r: request.Test) => request.Test,
  status: number,
  code: string,
): Promise<void> {
  const before = upstream.requests.length;
  const response = await send(request(server.url).post('/api/chat'));
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(isApiErrorBody(response.body)).toBe(true);
  expect(response.body.error.code).toBe(code);
  expect(response.body.error.message).not.toMatch(/at .*\.ts|Error:|stack/i);
  expect(upstream.requests.length).toBe(before); // refused before any upstream call
}

describe('POST /api/chat refuses bad input with the contract\'s JSON', () => {
  it('refuses invalid JSON with 400 bad-request', () =>
    expectRefused((r) => r.set('Content-Type', 'application/json').send('{"message": "hi"'), 400, 'bad-request'));

  it('refuses a body that is not JSON with 415 bad-request', () =>
    expectRefused((r) => r.set('Content-Type', 'text/plain').send('{"message":"hi"}'), 415, 'bad-request'));

  it('refuses a body with no content type with 415 bad-request', () =>
    expectRefused((r) => r.send(Buffer.from('{"message":"hi"}')), 415, 'bad-request'));

  it('refuses a missing message with 400 bad-request', () => expectRefused((r) => r.send({}), 400, 'bad-request'));

  it('refuses a message that is not a string with 400 bad-request', () =>
    expectRefused((r) => r.send({ message: 42 }), 400, 'bad-request'));

  it('refuses a JSON array or null body with 400 bad-request', async () => {
    await expectRefused((r) => r.set('Content-Type', 'application/json').send('[]'), 400, 'bad-request');
    await expectRefused((r) => r.set('Content-Type', 'application/json').send('null'), 400, 'bad-request');
  });

  it('refuses an empty or blank message with 400 bad-request', async () => {
    await expectRefused((r) => r.send({ message: '' }), 400, 'bad-request');
    await expectRefused((r) => r.send({ message: '  \n\t ' }), 400, 'bad-request');
    await expectRefused((r) => r.send({ message: '\u0000\u0007' }), 400, 'bad-request');
  });

  it('refuses a message over the character limit with 413 too-large', () =>
    expectRefused((r) => r.send({ message: 'x'.repeat(51) }), 413, 'too-large'));

  it('refuses a body over the byte limit with 413 too-large', () =>
    expectRefused((r) => r.send({ message: 'hi', padding: 'x'.repeat(100_000) }), 413, 'too-large'));

  it('refuses a message that alone exceeds the token budget with 413 too-large, before any upstream call', async () => {
    const small = await startTestServer({ upstream, env: { CHATDROP_HISTORY_TOKENS: '100' } });
    try {
      const before = upstream.requests.length;
      const response = await request(small.url).post('/api/chat').send({ message: 'lorem ipsum dolor '.repeat(60) });
      expect(response.status).toBe(413);
      expect(response.body.error.code).toBe('too-large');
      expect(upstream.requests.length).toBe(before);
    } finally {
      await small.close();
    }
  });

  it('refuses an unknown model alias with 400 unknown-model, and upstream model ids are not aliases', async () => {
    await expectRefused((r) => r.send({ message: 'hi', model: 'gpt-5-pro' }), 400, 'unknown-model');
    await expectRefused((r) => r.send({ message: 'hi', model: 'gpt-4.1' }), 400, 'unknown-model');
  });

  it('refuses an unknown or malformed conversation id with 404 not-found and creates nothing', async () => {
    await expectRefused((r) => r.send({ message: 'hi', conversationId: 'AAAAAAAAAAAAAAAAAAAAAAAA' }), 404, 'not-found');
    await expectRefused((r) => r.send({ message: 'hi', conversationId: '../../etc/passwd' }), 404, 'not-found');
    await expectRefused((r) => r.send({ message: 'hi', conversationId: 7 }), 400, 'bad-request');
  });

  it('refuses wrong types for model and conversationId with 400 bad-request', async () => {
    for (const body of [
      { message: 'hi', model: 5 },
      { message: 'hi', model: null },
      { message: 'hi', model: ['fast'] },
      { message: 'hi', conversationId: { $ne: null } },
      { message: 'hi', conversationId: null },
      { message: ['hi'] },
      { message: { text: 'hi' } },
      { message: true },
    ]) {
      await expectRefused((r) => r.send(body), 400, 'bad-request');
    }
  });

  it('refuses a message of only control characters with 400 bad-request', async () => {
    await expectRefused((r) => r.send({ message: '\u0001\u001f\u007f \u000b' }), 400, 'bad-request');
  });

  it('refuses a body in another charset with 415 and a JSON body that is a string or number with 400', async () => {
    await expectRefused((r) => r.set('Content-Type', 'application/json; charset=latin1').send('{"message":"hi"}'), 415, 'bad-request');
    await expectRefused((r) => r.set('Content-Type', 'application/json').send('"hi"'), 400, 'bad-request');
    await expectRefused((r) => r.set('Content-Type', 'application/json').send('42'), 400, 'bad-request');
  });

  it('answers unknown API paths with 404 JSON', async () => {
    const response = await request(server.url).get('/api/nope');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'not-found', message: expect.any(String) } });
  });
});

describe('POST /api/chat accepts odd but valid input', () => {
  it('uses the alias the browser picks, ignores unknown fields, and cleans control characters and lone surrogates', async () => {
    upstream.script({ kind: 'deltas', deltas: ['ok'] });
    const response = await request(server.url)
      .post('/api/chat')
      .send({ message: ' Hi\u0000 there \ud800! ', model: 'smart', extra: { nested: true } });
    expect(response.status).toBe(200);
    const sent = upstream.requests.at(-1)!.body;
    expect(sent.model).toBe('gpt-4.1');
    expect(sent.messages.at(-1)).toEqual({ role: 'user', content: 'Hi there \ufffd!' });
  });
});
