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

export type FetchResult =
  | { kind: 'ok'; status: number; contentType: string; body: string; etag?: string; lastModified?: string }
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

export async function fetchPage(url: string, limits: FetchLimits, conditional: Conditional = {}): Promise<FetchResult> {
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
    if (declared > limits.maxBytes) {
      await response.body?.cancel();
      return { kind: 'failed', reason: 'too-large', detail: `declared ${declared} bytes, limit ${limits.maxBytes}` };
    }
    const body = await readCapped(response, limits.maxBytes, controller);
    if (body === undefined) return { kind: 'failed', reason: 'too-large', detail: `more than ${limits.maxBytes} bytes` };
    return {
      kind: 'ok',
      status: response.status,
      contentType: (response.headers.get('content-type') ?? '').toLowerCase(),
      body,
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

/** The body as UTF-8 text, or undefined (and the request aborted) once it passes `max` bytes. */
async function readCapped(response: Response, max: number, controller: AbortController): Promise<string | undefined> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      controller.abort();
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}
