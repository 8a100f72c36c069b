import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { upstreamRequestRecorder } from './upstream-requests.js';

/**
 * The `fetch` the `openai` client is given (`upstream-client.ts`): `node:http` with one keep-alive
 * agent per protocol, instead of Node's built-in fetch (undici and WHATWG streams).
 *
 * Why (issue 7, measured with `bench/proxy-cost.ts` and `node --cpu-prof`): the built-in fetch
 * costs about 0.4 ms of CPU per request (the fetch algorithm, a Request and a Response, AbortSignals,
 * a WHATWG stream per body) and a few µs per chunk. All requests of the proxy share one event loop,
 * so that CPU is what N visitors arriving together wait for, one after another.
 *
 * An event stream's body is the Node response itself: the SDK reads any body that is async
 * iterable (`ReadableStreamToAsyncIterable` in openai's shims) by iterating it, so each chunk
 * reaches the SSE decoder without a WHATWG stream in between. Every other 2xx answer is a real
 * `Response` over a web stream of the body, so `text()` and `json()` behave as fetch's do and
 * whoever reads it decides how much to read (an embeddings answer may run to megabytes; a chat
 * stream answered with something else is read at most a MiB, `read-event-stream.ts`). An error
 * status's body is read whole into its `Response`, at most `MAX_ERROR_BODY_BYTES` of it.
 *
 * What stays as with fetch: the SDK's retries, timeouts and error mapping (a failed connection
 * rejects, an abort rejects with an `AbortError`, a stream cut midway throws from the body),
 * gzip/deflate/br bodies are decoded. A request this cannot send as-is (a `Request` object,
 * a streamed or form body) goes to the built-in fetch unchanged.
 */
export function createUpstreamFetch(): typeof fetch {
  // Idle sockets close a second before the server's `Keep-Alive: timeout` hint (Node's agent reads
  // it), so a reused socket is not one the server is closing.
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, maxSockets: Infinity }),
    'https:': new HttpsAgent({ keepAlive: true, maxSockets: Infinity }),
  };
  return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    const sendable = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    const url = input instanceof Request ? undefined : new URL(input);
    if (url === undefined || !sendable || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      return globalThis.fetch(input, init);
    }
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    if (body !== undefined && body !== null) headers['content-length'] = String(Buffer.byteLength(body));
    const https = url.protocol === 'https:';
    const options: RequestOptions = { method: init.method ?? 'GET', headers, agent: https ? agents['https:'] : agents['http:'] };
    const send = https ? httpsRequest : httpRequest;

    const record = upstreamRequestRecorder(init);
    let decoded: Readable | undefined;
    let settled = false;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, options, (answer) => {
        settled = true;
        decoded = decode(answer);
        resolve(answer);
      });
      req.once('error', (error) => {
        // Failed before any answer, and not by our abort (that destroys with its own reason
        // after marking it settled): told to the caller's trace, which judges billing.
        if (!settled) record?.({ error });
        settled = true;
        reject(error);
      });
      // Abort as fetch does: reject while waiting for headers, and afterwards end the body with
      // the same AbortError, which the SDK's stream reader treats as a quiet end.
      const abort = (): void => {
        const reason = abortError(signal);
        // Aborted while waiting for headers (our first-token timeout, a Stop): this request is
        // the last one, so the SDK's retried one before it is judged as billed or not.
        if (!settled) record?.({ error: reason });
        settled = true;
        reject(reason);
        decoded?.destroy(reason);
        req.destroy(reason);
      };
      signal?.addEventListener('abort', abort, { once: true });
      req.once('close', () => signal?.removeEventListener('abort', abort));
      req.end(body ?? undefined);
    });

    const status = res.statusCode ?? 502;
    record?.({ status });
    const responseHeaders = new Headers();
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      responseHeaders.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
    }
    const resBody = decoded ?? res;
    const responseInit = { status, statusText: res.statusMessage ?? '', headers: responseHeaders };
    const ok = status >= 200 && status < 300;
    const isEventStream = ok && responseHeaders.get('content-type')?.startsWith('text/event-stream') === true;
    if (NULL_BODY_STATUS.has(status)) {
      resBody.resume();
      return new Response(null, responseInit);
    }
    if (!ok) return new Response(new Uint8Array(await readAtMost(resBody, res, MAX_ERROR_BODY_BYTES)), responseInit);
    if (!isEventStream) return new Response(webStream(resBody, res), responseInit);
    const response = new Response(null, responseInit);
    // The SDK iterates the body (see above); a Node stream is async iterable over its chunks.
    Object.defineProperty(response, 'body', { value: resBody, enumerable: true });
    Object.defineProperty(response, 'url', { value: url.href, enumerable: true });
    return response;
  };
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** An error body says what went wrong in a few hundred bytes; the rest of a larger one is not read. */
const MAX_ERROR_BODY_BYTES = 1 << 20;
/** The most a 2xx answer that is no event stream may be (an embeddings answer is a few MB). */
export const MAX_WHOLE_BODY_BYTES = 64 * 1024 * 1024;

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('This operation was aborted', 'AbortError');
}

/** fetch decodes compressed bodies; so does this (we send no Accept-Encoding, but a server may). */
function decode(res: IncomingMessage): Readable {
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (decoder === undefined) return res;
  res.once('error', (error) => decoder.destroy(error));
  return res.pipe(decoder);
}

/** The body's first `limit` bytes; past them the connection is closed, not drained. */
async function readAtMost(stream: Readable, res: IncomingMessage, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const part of stream) {
    parts.push(part as Buffer);
    length += (part as Buffer).length;
    if (length >= limit) {
      res.destroy();
      break;
    }
  }
  return Buffer.concat(parts).subarray(0, limit);
}

/**
 * The body as the web stream a `Response` takes. Cancelling it (a reader that has read enough)
 * closes the connection, which a half-read body cannot be reused from.
 */
function webStream(stream: Readable, res: IncomingMessage): ReadableStream<Uint8Array> {
  stream.once('close', () => {
    if (!res.complete) res.destroy();
  });
  // The SDK reads a JSON answer (embeddings) whole: bounded, however long the upstream goes on.
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => {
    if ((bytes += chunk.length) > MAX_WHOLE_BODY_BYTES) stream.destroy(new Error(`the upstream's answer went past ${MAX_WHOLE_BODY_BYTES} bytes`));
  });
  return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
}
