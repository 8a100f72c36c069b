import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';

let upstream: MockUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.script({ kind: 'deltas', deltas: ['ok'] });
  // No TRUST_PROXY: forwarding headers come from the visitor and must change nothing.
  server = await startTestServer({ upstream, env: { CHATDROP_RATE_LIMIT: '2' } });
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('chat rate limit without TRUST_PROXY', () => {
  it('counts visitors who send forwarding headers by their socket address, and logs no ValidationError for them', async () => {
    // express-rate-limit writes its validation errors through console.error / console.warn.
    const errors = vi.spyOn(console, 'error');
    const warnings = vi.spyOn(console, 'warn');
    const statuses: number[] = [];
    for (const [i, ip] of ['203.0.113.7', '198.51.100.20', '192.0.2.55'].entries()) {
      const headers = { 'Content-Type': 'application/json', 'X-Forwarded-For': ip, Forwarded: `for=${ip}` };
      const response = await postChat(server.url, { message: `hi ${i}` }, { headers });
      statuses.push(response.status);
      if (response.status === 200) await readEvents(response);
      else await response.text();
    }
    // Three "different" clients, one socket address: the third is over the limit of two.
    expect(statuses).toEqual([200, 200, 429]);
    expect([...errors.mock.calls, ...warnings.mock.calls]).toEqual([]);
  });
});
