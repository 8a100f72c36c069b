import {
  createSseDecoder,
  decodeSseData,
  isApiErrorBody,
  type ApiErrorCode,
  type ChatRequest,
  type Conversation,
  type FeedbackRequest,
  type HandoffRequest,
  type StreamEvent,
  type WidgetConfig,
} from '@chatdrop/shared';

/** `network`: the request never got an answer, or the stream broke off before `message-end`. */
export type ClientErrorCode = ApiErrorCode | 'network';

/**
 * A failure the visitor may be told about. `message` is the server's visitor-safe text when the
 * server sent one (never upstream detail: the server keeps that in its log), otherwise empty and
 * the widget shows its own words.
 */
export class ChatError extends Error {
  // Declared, not defined: the constructor sets them, and a field definition would cost bytes.
  declare readonly code: ClientErrorCode;
  /** Seconds, from `Retry-After` on 429/503. */
  declare readonly retryAfter?: number;
  constructor(code: ClientErrorCode, message = '', retryAfter?: number) {
    super(message);
    Object.assign(this, { code, retryAfter, name: 'ChatError' });
  }
}

/** An abort (Stop, a new send, close, destroy) is a normal outcome: callers check this and stay quiet. */
export const isAbort = (error: unknown): boolean => (error as Error | undefined)?.name == 'AbortError';

export type OnEvent = (event: StreamEvent, id: string | undefined) => void;

export interface ChatClient {
  config(): Promise<WidgetConfig>;
  /**
   * Streams one reply; resolves after `message-end`, rejects with ChatError or an AbortError.
   * `id` is the SSE event id, kept for resuming a dropped stream (`Last-Event-ID`).
   */
  chat(request: ChatRequest, onEvent: OnEvent, signal: AbortSignal): Promise<boolean>;
  /**
   * Follows a reply from after SSE id `lastId` (`'0'`: from its start) through to `message-end`,
   * read exactly as `chat` reads; false when the server has nothing left to resume (204).
   */
  resume(messageId: string, lastId: string, onEvent: OnEvent, signal: AbortSignal): Promise<boolean>;
  /** Each of these resolves (to the server's answer, which callers need not read) once the server has it. */
  stop(messageId: string): Promise<unknown>;
  /** Undefined when the server no longer knows the conversation (404). */
  conversation(id: string): Promise<Conversation | undefined>;
  feedback(request: FeedbackRequest): Promise<unknown>;
  /** Resolves once the server has stored the hand-off (202); rejects with ChatError. */
  handoff(request: HandoffRequest): Promise<unknown>;
}

/**
 * The widget's only door to the API. `fetchFn` is read on each call so a page (or a test) that
 * replaces `fetch` after load is honoured.
 */
export function createChatClient(apiOrigin: string, fetchFn?: typeof fetch): ChatClient {
  const call = async (path: string, init?: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await (fetchFn ?? fetch)(apiOrigin + path, { credentials: 'omit', ...init });
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new ChatError('network');
    }
    if (!res.ok) throw await toError(res);
    return res;
  };
  const post = (path: string, body?: object, signal?: AbortSignal): Promise<Response> =>
    call(path, {
      method: 'POST',
      headers: body && { 'Content-Type': 'application/json' },
      body: body && JSON.stringify(body),
      signal,
    });
  const encode = encodeURIComponent;
  /** The one SSE reader, for the POST and the resume GET alike. */
  const read = async (response: Promise<Response>, onEvent: OnEvent, signal: AbortSignal) => {
    const res = await response;
    if (res.status === 204) return false;
    if (!res.body) throw new ChatError('network');
    let ended = false;
    const feed = createSseDecoder((message) => {
      // Anything that is not one of the contract's events (a proxy's page, a newer server's
      // event type) is skipped rather than shown: the visitor cannot act on it.
      const event = decodeSseData(message.data);
      if (!event || ended) return;
      if (event.type === 'message-end') ended = true;
      onEvent(event, message.id);
    });
    const reader = res.body.getReader();
    // `stream: true` keeps a multibyte character cut across two chunks intact; the SSE decoder
    // drops the BOM itself.
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    try {
      for (let chunk; !ended && !(chunk = await reader.read()).done; ) feed(decoder.decode(chunk.value, { stream: true }));
    } catch {
      // A read that fails (the connection dropped, or our abort errored the body) ends the
      // reading; whether it was an abort or a break is told below, once for every way out.
    } finally {
      reader.cancel().catch(() => {});
    }
    // A stream that closes without `message-end` was cut (proxy timeout, network change), unless
    // the reply was stopped: then it is the abort (the signal's AbortError) that callers see.
    if (!ended) {
      signal.throwIfAborted();
      throw new ChatError('network');
    }
    return true;
  };

  return {
    config: () => call('/api/config').then((res) => res.json() as Promise<WidgetConfig>),
    chat: (request, onEvent, signal) => read(post('/api/chat', request, signal), onEvent, signal),
    resume: (id, lastId, onEvent, signal) =>
      read(call(`/api/chat/${encode(id)}/stream`, { headers: { 'Last-Event-ID': lastId }, signal }), onEvent, signal),
    stop: (id) => post(`/api/chat/${encode(id)}/stop`),
    conversation: (id) =>
      call(`/api/conversations/${encode(id)}`).then(
        (res) => res.json() as Promise<Conversation>,
        (error: ChatError): undefined => {
          if (error.code != 'not-found') throw error;
        },
      ),
    feedback: (request) => post('/api/feedback', request),
    handoff: (request) => post('/api/handoff', request),
  };
}

async function toError(res: Response): Promise<ChatError> {
  const seconds = Number(res.headers.get('Retry-After'));
  const retryAfter = seconds > 0 && seconds < Infinity ? Math.ceil(seconds) : undefined;
  const body: unknown = await res.json().catch(() => undefined);
  if (isApiErrorBody(body)) return new ChatError(body.error.code, body.error.message, retryAfter);
  // No contract body (a proxy's error page): map the status so 404 and 429 still mean something.
  const code = ({ 404: 'not-found', 429: 'rate-limited', 503: 'busy' } as Record<number, ApiErrorCode>)[res.status] ?? 'internal';
  return new ChatError(code, '', retryAfter);
}
