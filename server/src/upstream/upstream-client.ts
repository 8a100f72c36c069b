import OpenAI from 'openai';
import type { Config } from '../config.js';
import { createUpstreamFetch } from './upstream-fetch.js';

/**
 * The one `openai` client of a server, as main.ts and the tests build it.
 *
 * Retries (issue 5) are the SDK's own: 408/409/429/5xx and connection errors, before any byte of
 * the stream, up to `CHATDROP_UPSTREAM_RETRIES` times, with exponential backoff from 0.5 s (up to
 * 8 s, 25 % jitter), honouring `retry-after-ms` and `retry-after` from the upstream. There is no
 * second loop on top. A stream that fails midway is never retried: its text has been shown.
 *
 * The SDK's own `timeout` (waiting for headers) is left at its default: our first-token timeout
 * (`upstream.ts`) is shorter and also covers the retries.
 *
 * Its `fetch` is `node:http` with keep-alive agents (`upstream-fetch.ts`), a fraction of the
 * built-in fetch's CPU per request and per chunk (issue 7).
 */
export function createUpstreamClient(config: Config, baseUrl?: string): OpenAI {
  return new OpenAI({
    // The offline demo upstream ignores the key; the SDK insists on one.
    apiKey: config.openaiApiKey ?? 'offline-demo',
    baseURL: baseUrl ?? config.openaiBaseUrl ?? null,
    maxRetries: config.upstreamRetries,
    fetch: createUpstreamFetch(),
  });
}
