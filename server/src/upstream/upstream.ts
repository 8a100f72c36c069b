import OpenAI from 'openai';
import type { ApiErrorCode } from '@chatdrop/shared';
import type { UpstreamMessage } from '../chat/history.js';
import { SecretRedactor } from '../observability/secret-redactor.js';
import type { MaxTokensField } from '../config.js';
import { readEventStream } from './read-event-stream.js';
import { recordingFetchOptions, type UpstreamRequestOutcome } from './upstream-requests.js';
import { describeType, judgeWholeAnswer } from './whole-completion.js';

/**
 * What one upstream chunk means to us: text, the end reason, or the token count; or, once per
 * call, how many of the SDK's own retried requests before the last one may have been billed
 * (`requests-retried`, only when there were any; see `mayHaveBeenBilled`).
 */
export type UpstreamEvent =
  | { type: 'text'; text: string }
  | { type: 'finish'; reason: UpstreamFinishReason }
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  | { type: 'requests-retried'; billed: number };

export type UpstreamFinishReason = 'stop' | 'length' | 'content-filter';

export interface UpstreamRequest {
  /** The upstream model id (not the alias). */
  model: string;
  messages: UpstreamMessage[];
  /** Aborting it cancels the HTTP request at once (Stop, a disconnect, shutdown). */
  signal: AbortSignal;
  /** From the call until the first chunk; covers the SDK's own retries too. */
  firstTokenTimeoutMs: number;
  /** Between two chunks once the stream runs. */
  idleTimeoutMs: number;
  /**
   * The most output tokens the reply may have (`CHATDROP_MAX_OUTPUT_TOKENS`), sent in `maxTokensField`;
   * a reply that reaches it ends with finish reason `length`.
   */
  maxOutputTokens: number;
  maxTokensField: MaxTokensField;
}

/** An upstream failure translated for the visitor; `detail` is for the log only. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly code: Extract<ApiErrorCode, 'upstream-unavailable' | 'upstream-rejected' | 'timeout'>,
    readonly retryable: boolean,
    readonly detail: string,
    /** The upstream's HTTP status, when there was one. */
    readonly status?: number,
    /**
     * Whether the upstream may have charged for the request (its prompt tokens at least) although
     * no text came: see `mayHaveBeenBilled`. True unless we know it never ran.
     */
    readonly mayBeBilled = true,
  ) {
    super(VISITOR_MESSAGES[code]);
  }
}

const VISITOR_MESSAGES: Record<UpstreamError['code'], string> = {
  'upstream-unavailable': 'The assistant is unavailable right now. Please try again in a moment.',
  'upstream-rejected': 'The assistant could not answer this request.',
  timeout: 'The assistant took too long to answer. Please try again.',
};

/**
 * Streams one chat completion through the real `openai` SDK and hands text, the finish reason and
 * usage to `onEvent`, in wire order, as each chunk arrives. Resolves when the stream ends, and
 * quietly when `signal` aborts (an abort is a normal outcome: the caller checks `signal.aborted`);
 * rejects with `UpstreamError` for every failure, timeouts included.
 *
 * The SDK stays the client: it builds and authenticates the request, retries 429/5xx and
 * connection failures, and turns an error status into its `APIError`. Its answer is taken raw
 * (`asResponse()`) and the event stream read here (`read-event-stream.ts`), with the SDK's own
 * rules: `[DONE]` ends the chunks, a chunk carrying `error` fails the stream as the SDK's
 * `APIError` (no status: retryable), a chunk that is not JSON fails it too.
 *
 * An answer that is not an event stream is judged whole (`whole-completion.ts`): one chat
 * completion (a server that ignored `stream: true`) is the reply, with its finish reason and
 * usage; anything else fails as `upstream-unavailable`. So does a stream that ends without a
 * finish reason (cut short), so that the caller's fallback can answer while nothing was shown.
 *
 * The SDK's `timeout` only covers waiting for response headers, so both timeouts are ours: one
 * timer for the first chunk, then one for the gap after each chunk, aborting an inner controller
 * that also follows `signal`.
 */
export async function streamCompletion(openai: OpenAI, request: UpstreamRequest, onEvent: (event: UpstreamEvent) => void): Promise<void> {
  const inner = new AbortController();
  const follow = (): void => inner.abort();
  request.signal.addEventListener('abort', follow, { once: true });
  if (request.signal.aborted) inner.abort();

  let timedOut: 'first' | 'idle' | undefined;
  let waitingFor: 'first' | 'idle' = 'first';
  const onTimeout = (): void => {
    timedOut = waitingFor;
    inner.abort();
  };
  let timer = setTimeout(onTimeout, request.firstTokenTimeoutMs);
  // After the first chunk: the idle timer, pushed back by each chunk with `refresh()` (no new
  // timer per chunk).
  const chunkArrived = (): void => {
    if (waitingFor === 'idle') {
      timer.refresh();
      return;
    }
    clearTimeout(timer);
    waitingFor = 'idle';
    timer = setTimeout(onTimeout, request.idleTimeoutMs);
  };

  // Every HTTP request of this call (the SDK's retries included): all but the last were retried.
  const sent: UpstreamRequestOutcome[] = [];
  let retriesTold = false;
  const tellRetries = (): void => {
    if (retriesTold) return;
    retriesTold = true;
    const billed = sent.slice(0, -1).filter(outcomeMayBeBilled).length;
    if (billed > 0) onEvent({ type: 'requests-retried', billed });
  };

  let ended = false;
  try {
    const answer = await openStream(openai, request, inner.signal, (outcome) => void sent.push(outcome));
    tellRetries();
    let done = false;
    let finished = false;
    const unframed = await readEventStream(answer.body, (message) => {
      // Like the SDK's stream: nothing after `[DONE]` counts, but the body is read to its end.
      if (done) return;
      if (message.data.startsWith('[DONE]')) {
        done = true;
        return;
      }
      const chunk = JSON.parse(message.data) as ChunkOnTheWire | null;
      if (typeof chunk !== 'object' || chunk === null) throw new TypeError('an upstream chunk is not a JSON object');
      if (chunk.error) throw new OpenAI.APIError(undefined, chunk.error, undefined, undefined);
      chunkArrived();
      // The usage chunk has no choices, and a chunk may have several with `n` > 1 (never asked).
      const choice = chunk.choices?.[0];
      if (choice !== undefined) {
        // A refusal is text the visitor should see (the model says why it will not answer).
        const text = (choice.delta?.content ?? '') + (choice.delta?.refusal ?? '');
        if (text !== '') onEvent({ type: 'text', text });
        if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
          finished = true;
          onEvent({ type: 'finish', reason: mapFinishReason(choice.finish_reason) });
        }
      }
      const usage = usageEvent(chunk.usage);
      if (usage !== undefined) onEvent(usage);
    });
    if (unframed !== undefined) {
      // Not an event stream at all: one whole completion is the reply; anything else throws.
      for (const event of wholeAnswerEvents(unframed, answer)) onEvent(event);
      finished = true;
    }
    ended = true;
    if (!finished && !request.signal.aborted && timedOut === undefined) {
      const type = describeType(answer.contentType);
      throw new UpstreamError(
        'upstream-unavailable',
        true,
        done
          ? `the upstream's event stream (${answer.status} ${type}) ended with [DONE] but no finish reason`
          : `the upstream's event stream (${answer.status} ${type}) ended without a finish reason or [DONE]: cut short`,
      );
    }
  } catch (error) {
    tellRetries();
    if (timedOut !== undefined) throw timeoutError(timedOut, request);
    if (request.signal.aborted) return;
    throw toUpstreamError(error, openai.apiKey ?? undefined);
  } finally {
    clearTimeout(timer);
    request.signal.removeEventListener('abort', follow);
    // A stream given up on (a bad chunk, an error chunk) must not keep its connection: as the
    // SDK's own stream does when its reader stops early.
    if (!ended) inner.abort();
  }
  if (timedOut !== undefined) throw timeoutError(timedOut, request);
}

/**
 * An answer that carried no event (`whole-completion.ts`) as the events a stream would have given:
 * a completion's text, finish reason and usage (so the daily budget counts it); OpenAI's error
 * object fails as the in-stream error chunk does; anything else is `upstream-unavailable`.
 */
function wholeAnswerEvents(text: string, answer: UpstreamAnswer): UpstreamEvent[] {
  const judged = judgeWholeAnswer(text);
  switch (judged.kind) {
    case 'completion': {
      const events: UpstreamEvent[] = [];
      if (judged.text !== '') events.push({ type: 'text', text: judged.text });
      events.push({ type: 'finish', reason: mapFinishReason(judged.finishReason as WireFinishReason) });
      const usage = usageEvent(judged.usage);
      if (usage !== undefined) events.push(usage);
      return events;
    }
    case 'error':
      throw new OpenAI.APIError(undefined, judged.error, undefined, undefined);
    case 'other': {
      const what = `${answer.status} ${describeType(answer.contentType)}`;
      throw new UpstreamError('upstream-unavailable', true, `the upstream answered a streaming request with ${what}, ${judged.why}: not an event stream`);
    }
    default: {
      const unexpected: never = judged;
      throw new Error(`unexpected answer ${JSON.stringify(unexpected)}`);
    }
  }
}

/** What `openStream` keeps of the upstream's answer. */
interface UpstreamAnswer {
  body: unknown;
  status: number;
  /** Its `Content-Type`, as sent (untrusted text). */
  contentType: string | null;
}

/**
 * The request through the SDK, up to the response's headers; answers the body with the status
 * and type alone, so the response, its headers and the SDK's request state are not kept alive
 * for the minutes a reply may stream (this frame ends here).
 */
async function openStream(openai: OpenAI, request: UpstreamRequest, signal: AbortSignal, record: (outcome: UpstreamRequestOutcome) => void): Promise<UpstreamAnswer> {
  const pending = openai.chat.completions
    .create(
      {
        model: request.model,
        messages: request.messages,
        stream: true,
        stream_options: { include_usage: true },
        ...(request.maxTokensField === 'max_tokens'
          ? { max_tokens: request.maxOutputTokens }
          : { max_completion_tokens: request.maxOutputTokens }),
      },
      { signal, fetchOptions: recordingFetchOptions(record) },
    )
    .asResponse();
  // The SDK sleeps between retries with a plain timer and looks at the signal only when it
  // wakes; an upstream that answers 429 with `retry-after: 3600` would hold Stop, shutdown and
  // our timeouts for an hour. So the wait for the stream also ends on our abort; the SDK's own
  // promise then rejects later into nothing.
  pending.catch(() => {});
  const aborted = rejectOnAbort(signal);
  try {
    const response = await Promise.race([pending, aborted.promise]);
    return { body: response.body, status: response.status, contentType: response.headers.get('content-type') };
  } finally {
    // A listener left on the signal would keep the race, and through it the response, alive.
    aborted.dispose();
  }
}

/** A chunk as it comes over the wire: the SDK's type, read without trusting it to be complete. */
type ChunkOnTheWire = Partial<OpenAI.Chat.Completions.ChatCompletionChunk> & { error?: unknown };

/**
 * The usage an upstream reports, when it is one: two whole token counts, neither negative. Anything
 * else is left out, and the caller counts for itself (the daily budget must not take a string,
 * a negative or a fraction from a server).
 */
function usageEvent(usage: unknown): Extract<UpstreamEvent, { type: 'usage' }> | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const { prompt_tokens: input, completion_tokens: output } = usage as Record<string, unknown>;
  if (!isTokenCount(input) || !isTokenCount(output)) return undefined;
  return { type: 'usage', inputTokens: input, outputTokens: output };
}

function isTokenCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A promise that rejects when `signal` aborts; `dispose` takes its listener off the signal. */
function rejectOnAbort(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let fail = (): void => {};
  const promise = new Promise<never>((_resolve, reject) => {
    fail = (): void => reject(new OpenAI.APIUserAbortError());
  });
  if (signal.aborted) fail();
  else signal.addEventListener('abort', fail, { once: true });
  return { promise, dispose: () => signal.removeEventListener('abort', fail) };
}

function timeoutError(which: 'first' | 'idle', request: UpstreamRequest): UpstreamError {
  const detail =
    which === 'first'
      ? `no first chunk within ${request.firstTokenTimeoutMs} ms`
      : `no chunk for ${request.idleTimeoutMs} ms mid-stream`;
  return new UpstreamError('timeout', true, detail);
}

type WireFinishReason = OpenAI.Chat.Completions.ChatCompletionChunk.Choice['finish_reason'] & string;

function mapFinishReason(reason: WireFinishReason): UpstreamFinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content-filter';
    // We never offer tools, so a tool call ends the text like a stop.
    case 'tool_calls':
    case 'function_call':
      return 'stop';
    default: {
      const unexpected: never = reason;
      // A compatible server may invent its own reasons; the text it sent still stands.
      void unexpected;
      return 'stop';
    }
  }
}

/**
 * The contract's mapping of SDK errors (issue 5): 429/5xx/connection → `upstream-unavailable`
 * (retryable); 400/401/403/404/422 → `upstream-rejected`; timeouts → `timeout`. A stream cut in
 * the middle surfaces as a plain `TypeError: terminated` from fetch: unavailable, retryable.
 */
export function toUpstreamError(error: unknown, apiKey?: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const detail = clip(redactKeys(error instanceof Error ? `${error.name}: ${error.message}` : String(error), apiKey));
  const billed = mayHaveBeenBilled(error);
  if (error instanceof OpenAI.APIConnectionTimeoutError) return new UpstreamError('timeout', true, detail, undefined, billed);
  if (error instanceof OpenAI.APIConnectionError) return new UpstreamError('upstream-unavailable', true, detail, undefined, billed);
  if (error instanceof OpenAI.APIError) {
    const status = error.status;
    if (status === undefined) return new UpstreamError('upstream-unavailable', true, detail, undefined, billed); // an error inside the stream
    if (status === 429 || status >= 500 || status === 408) return new UpstreamError('upstream-unavailable', true, detail, status, billed);
    return new UpstreamError('upstream-rejected', false, detail, status, billed);
  }
  return new UpstreamError('upstream-unavailable', true, detail, undefined, billed);
}

/**
 * Whether a request that failed before any text may still have been charged for, so that the
 * daily budget counts it (its input, as we counted it, unless the upstream reported usage). The
 * budget protects the owner's bill, so "we cannot tell" counts as billed; only a failure that
 * shows the model never ran is free:
 *
 * - an HTTP 4xx (400/401/403/404/408/409/422/429): the upstream refused the request before running
 *   it (OpenAI bills completed work; a 429 is the refusal of a rate or quota limit). Not billed.
 * - a connection that never carried the request (refused, no route, the name did not resolve,
 *   the TLS handshake failed): nobody received it. Not billed.
 * - an HTTP 5xx: the request reached the upstream (or a gateway in front of it, which may have
 *   passed it on to a model that ran before a 502/504 came back). May be billed.
 * - an error inside a 200 stream (OpenAI's `data: {"error": ...}` chunk), a stream cut before its
 *   first chunk (a reset, `terminated`), a chunk that is not JSON, or any other connection error
 *   (reset on a reused socket, hang-up: the request may have left): may be billed.
 * - a timeout waiting for the first chunk (ours or the SDK's): the request was sent and the model
 *   may be working on it. May be billed.
 *
 * The SDK's own retries (`CHATDROP_UPSTREAM_RETRIES`) are judged one by one, by the same rules,
 * from what our fetch saw of each (`requests-retried`).
 */
function mayHaveBeenBilled(error: unknown): boolean {
  if (error instanceof OpenAI.APIConnectionTimeoutError) return true;
  if (error instanceof OpenAI.APIConnectionError) return !neverSent(error.cause);
  if (error instanceof OpenAI.APIError && error.status !== undefined) return error.status >= 500;
  return true;
}

/** The same judgement for one request the SDK retried (our fetch saw its status or its error). */
function outcomeMayBeBilled(outcome: UpstreamRequestOutcome): boolean {
  return 'status' in outcome ? outcome.status >= 500 : !neverSent(outcome.error);
}

/** Node's codes for a connection that could not be made, so no request left this machine. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA',
  'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * True when the connection error (the SDK's `cause`: what our fetch rejected with) shows the
 * request never reached the server: a connect that failed, or a TLS handshake that did (the
 * request is only written once it has succeeded). With happy eyeballs (`autoSelectFamily`) Node
 * reports an `AggregateError` of one such error per address tried.
 */
function neverSent(cause: unknown, depth = 0): boolean {
  if (typeof cause !== 'object' || cause === null || depth > 4) return false;
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string' && (NOT_CONNECTED.has(code) || /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code))) return true;
  if (cause instanceof AggregateError && cause.errors.length > 0) return cause.errors.every((e) => neverSent(e, depth + 1));
  return neverSent((cause as { cause?: unknown }).cause, depth + 1);
}

/**
 * The SDK's message for an error status quotes a body that is not JSON whole (a proxy's HTML
 * page): the log keeps its start, enough to tell what answered.
 */
const MAX_DETAIL_CHARS = 500;

function clip(detail: string): string {
  return detail.length <= MAX_DETAIL_CHARS ? detail : `${detail.slice(0, MAX_DETAIL_CHARS)}… (${detail.length} characters)`;
}

/**
 * Upstream error messages may quote the key ("Incorrect API key provided: gsk_..."); OpenAI masks
 * most of it, other compatible servers may not. The detail travels (a log line, a metric's
 * reason), and the key must appear nowhere, so the key itself and anything shaped like one are
 * masked here already; the logger's own redaction is the last net, not the only one.
 */
function redactKeys(text: string, apiKey: string | undefined): string {
  const redactor = new SecretRedactor();
  redactor.add(apiKey);
  return redactor.redact(text);
}
