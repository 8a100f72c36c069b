import { afterEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import type { Env } from '../config.js';

let upstream: MockUpstream | undefined;
let server: TestServer | undefined;

async function configFor(env: Env): Promise<Record<string, unknown>> {
  upstream = await startMockUpstream();
  server = await startTestServer({ upstream, env });
  const response = await request(server.url).get('/api/config').expect(200);
  return response.body as Record<string, unknown>;
}

afterEach(async () => {
  await server?.close();
  await upstream?.close();
  server = undefined;
  upstream = undefined;
});

describe('GET /api/config', () => {
  it('answers exactly the contract fields when neither a support link nor the picker is configured', async () => {
    const body = await configFor({});
    expect(Object.keys(body).sort()).toEqual(['demo', 'greeting', 'models', 'starters', 'title']);
  });

  it('adds supportUrl and modelPicker, which the widget reads, when they are configured', async () => {
    const body = await configFor({
      CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1',
      CHATDROP_SUPPORT_URL: 'mailto:help@example.com',
      CHATDROP_MODEL_PICKER: '1',
    });
    expect(body).toMatchObject({
      models: [
        { id: 'fast', label: 'fast' },
        { id: 'smart', label: 'smart' },
      ],
      supportUrl: 'mailto:help@example.com',
      modelPicker: true,
    });
  });

  it('leaves modelPicker out when CHATDROP_MODEL_PICKER is 0', async () => {
    const body = await configFor({ CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1', CHATDROP_MODEL_PICKER: '0' });
    expect(body).not.toHaveProperty('modelPicker');
    expect(body).not.toHaveProperty('supportUrl');
  });
});
