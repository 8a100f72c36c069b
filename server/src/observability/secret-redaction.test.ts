import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { startTestServer } from '../test/test-server.js';
import { createLogger } from './logger.js';
import { SecretRedactor } from './secret-redactor.js';

/**
 * The configured upstream key is redacted as itself, whatever its shape, not only when it looks
 * like OpenAI's `sk-...`: providers' keys look like anything, and an upstream rejecting one often
 * quotes it back. None of these keys is of a shape the pattern knows... except that two of them
 * now are; the random one is what only the literal match can catch.
 */
const KEYS = {
  groq: `gsk_${randomBytes(39).toString('base64url').replace(/[-_]/g, 'x')}`,
  google: `AIza${randomBytes(26).toString('base64url')}`,
  random: `${randomBytes(6).toString('hex')}.${randomBytes(18).toString('base64')}`,
};

let upstream: MockUpstream;
beforeAll(async () => {
  upstream = await startMockUpstream();
});
afterAll(async () => {
  await upstream.close();
});

describe('the configured API key', () => {
  for (const [shape, key] of Object.entries(KEYS)) {
    it(`(${shape}) appears in no log line, response or header when the upstream quotes it back`, async () => {
      const server = await startTestServer({ upstream, env: { OPENAI_API_KEY: key } });
      try {
        upstream.script(
          { kind: 'error', status: 401, message: `Incorrect API key provided: ${key}. You can find your API key at the dashboard.`, code: 'invalid_api_key' },
          { kind: 'error', status: 500, message: `Internal error while checking key "${key}"`, type: 'server_error' },
          { kind: 'deltas', deltas: ['Part', ' never sent'], errorAfter: 1, errorMessage: `stream aborted for ${key}` },
          { kind: 'deltas', deltas: ['Fine.'] },
        );
        const seen: string[] = [];
        for (let i = 0; i < 4; i++) {
          const response = await postChat(server.url, { message: `Turn ${i}` });
          const { events } = await readEvents(response);
          seen.push(`${response.status} ${JSON.stringify([...response.headers])} ${JSON.stringify(events)}`);
        }
        // The key went upstream, and came back in the upstream's words...
        expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${key}`);
        expect(seen[0]).toContain('upstream-rejected');
        // ... and is nowhere else: not in what the visitor got, not in any log line.
        for (const text of seen) expect(text).not.toContain(key);
        for (const line of server.logs) expect(line).not.toContain(key);
        // Not because nothing was logged: the upstream's messages are there, the key masked.
        const logs = server.logs.join('\n');
        expect(logs).toContain('Incorrect API key provided: ');
        expect(logs).toContain('stream aborted for ');
        expect(logs).toContain('[redacted]');
      } finally {
        await server.close();
      }
    });
  }
});

describe('createLogger', () => {
  it('redacts the secret in every field, error and child logger line, escaped forms too', () => {
    const lines: string[] = [];
    const redactor = new SecretRedactor();
    const secret = `tok"${KEYS.random}\\end`;
    redactor.add(secret);
    const logger = createLogger({ level: 'info', redactor, destination: { write: (line: string) => void lines.push(line) } });
    const error = new Error(`rejected ${secret}`);
    logger.child({ reqId: 'r1' }).warn({ err: error, nested: { deep: [secret] }, quoted: JSON.stringify({ key: secret }) }, `msg ${secret}`);
    logger.info(secret);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const text = JSON.stringify(JSON.parse(line));
      expect(line).not.toContain(KEYS.random);
      expect(text).not.toContain(KEYS.random);
      expect(line).toContain('[redacted]');
    }
  });

  it('keeps the key-shape pattern as a second net, and leaves short placeholders alone', () => {
    const redactor = new SecretRedactor();
    redactor.add('none');
    expect(redactor.redact('sk-proj-abcdef123456 and gsk_abcdefgh123 and AIzaSyAbc123_-x and none')).toBe(
      'sk-[redacted] and gsk_[redacted] and AIza[redacted] and none',
    );
  });

  it('redacts correctly in 1k, 10k and 100k characters of near misses', () => {
    const redactor = new SecretRedactor();
    redactor.add(KEYS.random);
    for (const size of [1_000, 10_000, 100_000]) {
      // Prefixes of the key and of key shapes over and over: the worst case for a naive matcher.
      const filler = `${KEYS.random.slice(0, -1)} sk- gsk_ AIz`.repeat(Math.ceil(size / 60)).slice(0, size);
      const text = `${filler}${KEYS.random}${filler}`;
      const out = redactor.redact(text);
      expect(out).not.toContain(KEYS.random);
      expect(out.length).toBe(text.length - KEYS.random.length + '[redacted]'.length);
    }
  });
});
