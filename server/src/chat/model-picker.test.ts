import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@chatdrop/shared';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';

/**
 * Which models a visitor reaches, through the HTTP API: `CHATDROP_MODEL_PICKER` decides whether
 * the `model` field of a chat request means anything, and what `/api/config` and `/api/models` offer.
 */
const MODELS = 'fast=gpt-4.1-mini,smart=gpt-4.1,pricey=o3';

let upstream: MockUpstream;
let pickerOff: TestServer;
let pickerOn: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.script({ kind: 'deltas', deltas: ['ok'] });
  pickerOff = await startTestServer({ upstream, env: { CHATDROP_MODELS: MODELS } });
  pickerOn = await startTestServer({ upstream, env: { CHATDROP_MODELS: MODELS, CHATDROP_MODEL_PICKER: '1' } });
});
afterAll(async () => {
  await pickerOff.close();
  await pickerOn.close();
  await upstream.close();
});

/** The upstream model id a chat request reached, and the alias the stream says answered. */
async function modelReached(server: TestServer, body: object): Promise<{ upstreamModel: string; alias: string }> {
  const response = await postChat(server.url, { message: 'Which model are you?', ...body });
  expect(response.status).toBe(200);
  const { events } = await readEvents(response);
  const start = events[0]?.event as Extract<StreamEvent, { type: 'message-start' }>;
  expect(events.at(-1)?.event).toMatchObject({ type: 'message-end', finishReason: 'stop' });
  return { upstreamModel: upstream.requests.at(-1)!.body.model as string, alias: start.model };
}

async function listed(server: TestServer): Promise<{ config: string[]; models: string[] }> {
  const config = (await (await fetch(`${server.url}/api/config`)).json()) as { models: { id: string }[] };
  const models = (await (await fetch(`${server.url}/api/models`)).json()) as { models: { id: string }[] };
  return { config: config.models.map((m) => m.id), models: models.models.map((m) => m.id) };
}

describe('with CHATDROP_MODEL_PICKER off', () => {
  it('serves every request with the default alias, whatever model it names', async () => {
    for (const model of ['smart', 'pricey', 'fast', 'no-such-alias', 'o3', undefined]) {
      expect(await modelReached(pickerOff, { model })).toEqual({ upstreamModel: 'gpt-4.1-mini', alias: 'fast' });
    }
  });

  it('still refuses a model field of the wrong shape', async () => {
    const response = await postChat(pickerOff.url, { message: 'Hi', model: ['smart'] });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'bad-request' } });
  });

  it('lists only the default alias in /api/config and /api/models', async () => {
    expect(await listed(pickerOff)).toEqual({ config: ['fast'], models: ['fast'] });
  });
});

describe('with CHATDROP_MODEL_PICKER=1', () => {
  it('serves the alias the request names, and the default without one', async () => {
    expect(await modelReached(pickerOn, { model: 'smart' })).toEqual({ upstreamModel: 'gpt-4.1', alias: 'smart' });
    expect(await modelReached(pickerOn, { model: 'pricey' })).toEqual({ upstreamModel: 'o3', alias: 'pricey' });
    expect(await modelReached(pickerOn, {})).toEqual({ upstreamModel: 'gpt-4.1-mini', alias: 'fast' });
  });

  it('refuses an alias it does not have with 400 unknown-model, before any upstream call', async () => {
    const before = upstream.requests.length;
    const response = await postChat(pickerOn.url, { message: 'Hi', model: 'gpt-4.1' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'unknown-model' } });
    expect(upstream.requests.length).toBe(before);
  });

  it('lists every alias in /api/config and /api/models', async () => {
    expect(await listed(pickerOn)).toEqual({ config: ['fast', 'smart', 'pricey'], models: ['fast', 'smart', 'pricey'] });
  });
});
