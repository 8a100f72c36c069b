import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { startMockUpstream, type MockScript, type MockUpstream } from '../test/mock-upstream.js';
import { freePort } from '../test/redis-server.js';
import { createUpstreamClient } from './upstream-client.js';
import { streamCompletion, UpstreamError } from './upstream.js';

/**
 * Which failures before the first token may have been billed (`UpstreamError.mayBeBilled`): the
 * real `openai` SDK with our fetch, against the mock upstream over HTTP or a port nobody listens on.
 */
let upstream: MockUpstream;

beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  await upstream.close();
});

async function failureAgainst(baseUrl: string, firstTokenTimeoutMs = 10_000): Promise<UpstreamError> {
  const openai = createUpstreamClient(parseConfig({ OPENAI_API_KEY: 'sk-test', CHATDROP_UPSTREAM_RETRIES: '0' }), baseUrl);
  const request = {
    model: 'gpt-test',
    messages: [{ role: 'user' as const, content: 'Hi' }],
    signal: new AbortController().signal,
    firstTokenTimeoutMs,
    idleTimeoutMs: 10_000,
    maxOutputTokens: 100,
    maxTokensField: 'max_completion_tokens' as const,
  };
  const texts: string[] = [];
  const error = await streamCompletion(openai, request, (event) => void (event.type === 'text' && texts.push(event.text))).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(texts).toEqual([]);
  if (!(error instanceof UpstreamError)) throw new Error(`expected an UpstreamError, got ${String(error)}`);
  return error;
}

async function failureFor(script: MockScript, firstTokenTimeoutMs?: number): Promise<UpstreamError> {
  upstream.script(script);
  return failureAgainst(upstream.baseUrl, firstTokenTimeoutMs);
}

describe('whether a failed request may have been billed', () => {
  it('is not, when the connection was refused: the request never left', async () => {
    const port = await freePort(); // handed out and closed again: nobody listens
    const failure = await failureAgainst(`http://127.0.0.1:${port}/v1`);
    expect(failure).toMatchObject({ code: 'upstream-unavailable', status: undefined, mayBeBilled: false });
  });

  it('is not, when the upstream refused the request with a 4xx', async () => {
    for (const status of [400, 401, 404, 408, 429]) {
      const failure = await failureFor({ kind: 'error', status, message: `refused ${status}` });
      expect([status, failure.mayBeBilled]).toEqual([status, false]);
    }
  });

  it('may be, after a 5xx, a stream cut or an error chunk before the first token, or a first-token timeout', async () => {
    for (const status of [500, 502, 503, 504]) {
      const failure = await failureFor({ kind: 'error', status, message: `failed ${status}`, type: 'server_error' });
      expect([status, failure.mayBeBilled]).toEqual([status, true]);
    }
    expect(await failureFor({ kind: 'deltas', deltas: ['x'], dropAfter: 0 })).toMatchObject({ code: 'upstream-unavailable', mayBeBilled: true });
    expect(await failureFor({ kind: 'deltas', deltas: ['x'], errorAfter: 0 })).toMatchObject({ code: 'upstream-unavailable', mayBeBilled: true });
    expect(await failureFor({ kind: 'hang' }, 300)).toMatchObject({ code: 'timeout', mayBeBilled: true });
  });
});
