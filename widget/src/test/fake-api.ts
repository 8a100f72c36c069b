import { encodeSseEvent, type StreamEvent } from '@chatdrop/shared';

/**
 * A `fetch` replacement standing in for the server in component tests: it answers with real
 * `Response`s, and chat streams are real `ReadableStream`s of bytes framed by the shared
 * `encodeSseEvent`, cut into small chunks so frames (and multibyte characters) arrive in pieces.
 * The real server is exercised end to end by the browser tests.
 */
export interface Call {
  method: string;
  path: string;
  body: unknown;
  /** The `Last-Event-ID` header of a resume, when sent. */
  lastEventId?: string;
}

export interface RouteRequest extends Call {
  params: string[];
  signal: AbortSignal | undefined;
}

export type Handler = (req: RouteRequest) => Response | Promise<Response>;

export function createFakeApi(routes: Record<string, Handler>, origin = 'https://chat.example.com') {
  const calls: Call[] = [];
  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, pattern = ''] = key.split(' ');
    const re = new RegExp(`^${pattern.replace(/:\w+/g, '([^/]+)')}$`);
    return { method, re, handler };
  });
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    if (url.origin !== origin) throw new TypeError(`unexpected origin ${url.origin}`);
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const lastEventId = new Headers(init?.headers).get('Last-Event-ID') ?? undefined;
    const call = { method, path: url.pathname, body, ...(lastEventId === undefined ? {} : { lastEventId }) };
    calls.push(call);
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) throw new DOMException('Aborted', 'AbortError');
    for (const route of table) {
      const m = route.method === method ? route.re.exec(url.pathname) : null;
      if (m) return route.handler({ ...call, params: m.slice(1).map(decodeURIComponent), signal });
    }
    return json(404, { error: { code: 'not-found', message: 'Not found.' } });
  };
  return { fetch: fetchFn as typeof fetch, calls, origin };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export const noContent = () => new Response(null, { status: 204 });

export interface StreamOptions {
  /** Abort signal of the request: aborting errors the body like a real fetch does. */
  signal?: AbortSignal | undefined;
  /** Leave the stream open after the events (a reply still running) until aborted or `release`. */
  hold?: Promise<void>;
  /** Events sent once `hold` resolves (numbered on from the first ones). */
  after?: StreamEvent[];
  /** Ids count on from this one (a resume after `Last-Event-ID: from`); 0 by default. */
  from?: number;
  /** End by erroring the body, as a dropped connection does, instead of closing it. */
  fail?: boolean;
  /** Extra raw text sent before the events (comments, junk). */
  prefix?: string;
  chunk?: number;
}

/** A `200 text/event-stream` of the events, numbered from 1 (or `from + 1`) as the contract says. */
export function sse(events: StreamEvent[], options: StreamOptions = {}): Response {
  const from = options.from ?? 0;
  const bytes = new TextEncoder().encode(
    (options.prefix ?? '') + events.map((e, i) => encodeSseEvent(from + i + 1, e)).join(''),
  );
  const size = options.chunk ?? 7;
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      options.signal?.addEventListener('abort', () => {
        try {
          controller.error(new DOMException('Aborted', 'AbortError'));
        } catch {}
      });
    },
    async pull(controller) {
      if (offset < bytes.length) {
        controller.enqueue(bytes.slice(offset, (offset += size)));
        return;
      }
      if (options.hold) await options.hold;
      if (options.after?.length) {
        const first = from + events.length;
        controller.enqueue(new TextEncoder().encode(options.after.map((e, i) => encodeSseEvent(first + i + 1, e)).join('')));
        options.after = [];
        return;
      }
      try {
        if (options.fail) controller.error(new TypeError('network error'));
        else controller.close();
      } catch {}
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

export const start = (conversationId = 'c1', messageId = 'a1'): StreamEvent => ({
  type: 'message-start',
  conversationId,
  messageId,
  model: 'fast',
});
export const delta = (text: string): StreamEvent => ({ type: 'text-delta', delta: text });
export const end = (finishReason: 'stop' | 'length' | 'aborted' | 'error' = 'stop'): StreamEvent => ({
  type: 'message-end',
  finishReason,
  usage: { inputTokens: 3, outputTokens: 5 },
});

/** A promise and its resolver, for streams a test keeps open. */
export function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Waits until `check` passes (no timing asserts: only a generous cap against hanging). */
export async function until(check: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 4));
  }
  throw new Error(`timed out waiting for ${what}`);
}
