import { parentPort } from 'node:worker_threads';
import { extractHtml } from './extract.js';
import type { ExtractAnswer, ExtractRequest } from './extract-pool.js';

/**
 * One of `ExtractPool`'s worker threads: `extractHtml` on pages sent by the pool, one at a time,
 * so that Readability over linkedom (up to about a second of synchronous work on a hostile page)
 * never holds the event loop that streams the visitors' replies. A refused page (too deep, too
 * many elements) answers its error's message; anything else, the pool handles (an overrun ends
 * this thread, a crash too).
 */
const port = parentPort;
if (port === null) throw new Error('extract-worker runs as a worker thread, started by ExtractPool');

port.on('message', (request: ExtractRequest) => {
  let answer: ExtractAnswer;
  try {
    answer = { id: request.id, page: extractHtml(request.html, request.url) };
  } catch (error) {
    answer = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(answer);
});
// The modules above are loaded: from now on, time spent is extraction's (the pool's time limit).
port.postMessage({ ready: true } satisfies ExtractAnswer);
