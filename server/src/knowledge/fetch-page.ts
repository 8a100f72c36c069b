import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';

const gunzip = promisify(gunzipCallback);

/**
 * One bounded GET for the crawler. Every byte that comes back is hostile, so: the whole exchange
 * (headers and body) has a deadline; the body is read as a stream and the request is cut as soon
 * as it passes `maxBytes` (decompressed bytes: a small gzip cannot expand past it); redirects are
 * never followed here (`redirect: 'manual'`), so the crawler decides whether the target is on the
 * source's origin before anything is asked of it.
 */
export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  userAgent: string;
}

export interface FetchOptions {
  /** Validators of the copy we hold (a conditional request). */
  conditional?: Conditional;
  /**
   * Past `maxBytes`, keep the first `maxBytes` and stop reading (the answer is `ok` with
   * `truncated`), rather than failing `too-large`: robots.txt is read so (RFC 9309 2.5).
   */
  truncate?: boolean;
  /**
   * A body that is a gzip file is unpacked, to `maxBytes` at most (past it the fetch fails
   * `too-large`: a small file cannot unpack to gigabytes). sitemaps.org allows `sitemap.xml.gz`,
   * and servers send it as `application/x-gzip` with no Content-Encoding, which fetch leaves packed.
   */
  gunzip?: boolean;
}

export type FetchResult =
  | { kind: 'ok'; status: number; contentType: string; body: string; etag?: string; lastModified?: string; truncated?: boolean }
  | { kind: 'not-modified' }
  | { kind: 'redirect'; status: number; location: string | undefined }
  | { kind: 'status'; status: number }
  | { kind: 'failed'; reason: FetchFailure; detail: string };

/** The reasons a fetch fails, as the status counts them. */
export type FetchFailure = 'timeout' | 'too-large' | 'network';

export interface Conditional {
  etag?: string;
  lastModified?: string;
}

export async function fetchPage(url: string, limits: FetchLimits, options: FetchOptions = {}): Promise<FetchResult> {
  const conditional = options.conditional ?? {};
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, limits.timeoutMs);
  try {
    const headers: Record<string, string> = {
      'user-agent': limits.userAgent,
      accept: 'text/html, application/xhtml+xml, text/markdown, text/plain;q=0.9, application/xml;q=0.8, */*;q=0.1',
    };
    if (conditional.etag !== undefined) headers['if-none-match'] = conditional.etag;
    if (conditional.lastModified !== undefined) headers['if-modified-since'] = conditional.lastModified;
    const response = await fetch(url, { headers, redirect: 'manual', signal: controller.signal });
    if (response.status === 304) {
      await response.body?.cancel();
      return { kind: 'not-modified' };
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      return { kind: 'redirect', status: response.status, location: response.headers.get('location') ?? undefined };
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      return { kind: 'status', status: response.status };
    }
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > limits.maxBytes && options.truncate !== true) {
      await response.body?.cancel();
      return { kind: 'failed', reason: 'too-large', detail: `declared ${declared} bytes, limit ${limits.maxBytes}` };
    }
    const read = await readCapped(response, limits.maxBytes, controller, options.truncate === true, options.gunzip === true);
    if (read === undefined) return { kind: 'failed', reason: 'too-large', detail: `more than ${limits.maxBytes} bytes` };
    return {
      kind: 'ok',
      status: response.status,
      contentType: (response.headers.get('content-type') ?? '').toLowerCase(),
      body: read.text,
      ...(read.truncated ? { truncated: true } : {}),
      etag: response.headers.get('etag') ?? undefined,
      lastModified: response.headers.get('last-modified') ?? undefined,
    };
  } catch (error) {
    if (timedOut) return { kind: 'failed', reason: 'timeout', detail: `no complete answer within ${limits.timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'failed', reason: 'network', detail: cause?.code ?? cause?.message ?? (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The body as UTF-8 text. Once it passes `max` bytes the request is aborted, so no more of it is
 * downloaded or held: the answer is then undefined, or (`truncate`) its first `max` bytes (a
 * character cut in two there decodes as U+FFFD).
 */
async function readCapped(response: Response, max: number, controller: AbortController, truncate: boolean, unpack: boolean): Promise<{ text: string; truncated: boolean } | undefined> {
  if (response.body === null) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      controller.abort();
      if (!truncate) return undefined;
      chunks.push(value.subarray(0, max - size));
      truncated = true;
      break;
    }
    size += value.byteLength;
    chunks.push(value);
  }
  let body = Buffer.concat(chunks);
  // (The gzip magic number, RFC 1952 2.3.1. A damaged file is left as it came: it is no sitemap.
  // Unpacked on libuv's thread pool, not on the thread that streams replies.)
  if (unpack && body[0] === 0x1f && body[1] === 0x8b) {
    try {
      body = await gunzip(body, { maxOutputLength: max });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    }
  }
  return { text: new TextDecoder('utf-8').decode(body), truncated };
}
