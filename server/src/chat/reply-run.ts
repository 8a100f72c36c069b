import type OpenAI from 'openai';
import type { Logger } from 'pino';
import type { FinishReason, Source, StreamEvent, Usage } from '@chatdrop/shared';
import type { ConversationStore } from '../store/conversation-store.js';
import type { ReplyMeta } from '../store/inbox-query.js';
import type { StreamBuffer } from '../replies/stream-buffer/stream-buffer.js';
import { contentTokens, type UpstreamMessage } from './history.js';
import type { MaxTokensField } from '../config.js';
import { DeltaCoalescer } from './delta-coalescer.js';
import { streamCompletion, toUpstreamError, type UpstreamError, type UpstreamFinishReason } from '../upstream/upstream.js';

export interface ReplyRunOptions {
  openai: OpenAI;
  store: ConversationStore;
  log: Logger;
  conversationId: string;
  /** The stored assistant message this run fills in. */
  messageId: string;
  modelAlias: string;
  model: string;
  /** Asked instead when `model` fails before its first token (`CHATDROP_FALLBACKS`). */
  fallbackModel?: string;
  messages: UpstreamMessage[];
  /**
   * With knowledge on: the pages whose passages are in `messages`, sent as the `sources` event
   * right after `message-start` (`[]`: nothing relevant was found). Absent: no event.
   */
  sources?: Source[];
  /** Our own count of the request, used when the upstream sends no usage chunk. */
  inputTokens: number;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
  /** The output-token cap of the alias (the fallback model gets the same), and its request field. */
  maxOutputTokens: number;
  maxTokensField: MaxTokensField;
  now: () => number;
  /**
   * How long the reply keeps running once its last reader has gone (`CHATDROP_RESUME_GRACE_MS`);
   * 0 aborts the upstream at once (contract: nobody pays for tokens nobody reads).
   */
  resumeGraceMs: number;
  /**
   * Where every event goes with its id, so a reader can resume it, on this instance or another,
   * while it runs and shortly after (`GET /api/chat/:messageId/stream`). Not awaited per event.
   */
  buffer: StreamBuffer;
  /** At most one store write per this many ms while text streams in (plus a final write). */
  persistIntervalMs?: number;
  /** Text arriving within this many ms of the last `text-delta` goes out with the next one (`DeltaCoalescer`). */
  coalesceMs?: number;
  /** `CHATDROP_LOG_CONTENT=1`: the question and the reply go into the summary log line. */
  logContent?: boolean;
  /** Told about every upstream failure, fallbacks included (metrics: upstream errors by kind). */
  onUpstreamError?: (error: UpstreamError) => void;
  /**
   * Told, and awaited, when an attempt that may have been billed failed before its first token and
   * the fallback model is about to be asked: what that attempt may have cost (the reply's hold on
   * the daily budget grows by it at once, so other requests see it while the fallback runs).
   * A failure here is logged; the fallback is asked all the same.
   */
  onAttemptBilled?: (usage: Usage) => Promise<void> | void;
  /**
   * Told once, when the reply has ended and been stored, before `message-end` goes out (metrics,
   * budget, slot release); awaited, and a failure is logged, never thrown.
   */
  onEnd?: (summary: ReplySummary) => Promise<void> | void;
}

/** What one reply came to; the summary log line carries the same fields. */
export interface ReplySummary {
  modelAlias: string;
  /** The upstream model that answered (the fallback's id when it was used). */
  upstreamModel: string;
  finishReason: FinishReason;
  errorCode: UpstreamError['code'] | undefined;
  firstTokenMs: number | undefined;
  durationMs: number;
  /** What the attempt that ended the reply cost (the visitor's `message-end` carries it). */
  usage: Usage;
  /**
   * What the requests before it may have cost: a model that failed before its first token in a
   * way that may have been billed, before the fallback answered (`onAttemptBilled`), and the SDK's
   * own retries that may have been (a 5xx, a dropped connection), each counted as its input.
   * The budget and the token metrics count it; the visitor is not shown it.
   */
  failedAttemptsUsage: Usage;
}

export type ReplyListener = (event: StreamEvent, id: number) => void;
export type AbortReason = 'stop' | 'disconnect' | 'shutdown' | 'deleted';

const DEFAULT_PERSIST_INTERVAL_MS = 250;
/**
 * Below what a reader can see (the widget paints at most once per ~16 ms frame), above the gap
 * between a fast model's chunks (a few ms), so such a model's deltas leave several at a time.
 */
const DEFAULT_COALESCE_MS = 25;

/**
 * One assistant reply being produced: the upstream call, the persistence of its text, and the
 * events it emits. It is deliberately separate from the HTTP response reading it, so a reply can
 * outlive its reader (issue 6: resume) and be stopped from another request (`/stop`).
 *
 * Every event gets its SSE id (1, 2, ...) and goes to the reader attached from the start and to
 * the stream buffer (one copy, there), where a reader coming back on any instance, even shortly
 * after the end, replays what it missed and follows the rest. Exactly one `message-end` closes
 * the stream; an `error` comes just before it. Text that arrives close together leaves as one
 * `text-delta` (`DeltaCoalescer`), and anything held leaves before the `error` or the end.
 *
 * Persistence: the text is written as it streams (at most every `persistIntervalMs`) and once
 * more at the end, before `message-end` goes out, so a client that reads the conversation after
 * `message-end` sees the final text. Status `complete` only for `stop` and `length` (issue 3).
 */
export class ReplyRun {
  readonly conversationId: string;
  readonly messageId: string;
  readonly #options: ReplyRunOptions;
  readonly #controller = new AbortController();
  #lastId = 0;
  readonly #listeners = new Set<ReplyListener>();
  #abortReason: AbortReason | undefined;
  #text = '';
  #lastPersist = 0;
  #writes: Promise<unknown> = Promise.resolve();
  #finished = false;
  /** When a reader on another instance last said it follows this reply (`readerSeen`). */
  #remoteReaderAt = -Infinity;
  #bufferFailed = false;
  /** One handler for every append's failure, not a closure per event. */
  readonly #onBufferError = (error: unknown): void => this.#bufferFailedOnce(error);
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(options: ReplyRunOptions) {
    this.#options = options;
    this.conversationId = options.conversationId;
    this.messageId = options.messageId;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  get finished(): boolean {
    return this.#finished;
  }

  get readerCount(): number {
    return this.#listeners.size;
  }

  /**
   * A reader follows this reply from another instance (through the stream buffer): it counts as a
   * reader for the resume grace until it has been silent for the grace.
   */
  readerSeen(): void {
    this.#remoteReaderAt = this.#options.now();
  }

  /**
   * Attaches the reader that asked for this reply (before `run`, so it misses nothing); it gets
   * every event as it goes out. Readers that come back later read the stream buffer instead.
   * Returns the detach function.
   */
  read(listener: ReplyListener): () => void {
    if (this.#finished) return () => {};
    this.#listeners.add(listener);
    return () => {
      if (this.#listeners.delete(listener)) this.#readerLeft();
    };
  }

  #readerLeft(): void {
    if (this.#finished || this.#listeners.size > 0) return;
    const grace = this.#options.resumeGraceMs;
    if (grace <= 0) {
      this.abort('disconnect');
      return;
    }
    this.#checkReadersIn(grace);
  }

  /**
   * Nobody reads here: abort once nobody, here or on another instance, has read for the grace.
   * A remote reader announces itself every few seconds, so while it follows, the check re-arms.
   */
  #checkReadersIn(ms: number): void {
    setTimeout(() => {
      if (this.#finished || this.#listeners.size > 0) return;
      const sinceRemote = this.#options.now() - this.#remoteReaderAt;
      const grace = this.#options.resumeGraceMs;
      if (sinceRemote < grace) this.#checkReadersIn(grace - sinceRemote);
      else this.abort('disconnect');
    }, ms).unref();
  }

  /** Stops the upstream request at once; the reply ends with `message-end` `aborted`. */
  abort(reason: AbortReason): void {
    if (this.#finished || this.#controller.signal.aborted) return;
    this.#abortReason = reason;
    this.#controller.abort();
  }

  /** Runs the reply to its end. Never rejects: every failure becomes events and a log line. */
  async run(): Promise<void> {
    const o = this.#options;
    const started = o.now();
    this.#lastPersist = started;
    let firstTokenMs: number | undefined;
    let finish: UpstreamFinishReason | undefined;
    let usage: Usage | undefined;
    let failure: UpstreamError | undefined;
    let upstreamModel = o.model;
    // Whether the last attempt may have been billed: any that showed text, and any failure but
    // those that show the model never ran (`UpstreamError.mayBeBilled`: a 4xx, a connection
    // that never carried the request). A 5xx, a drop, a timeout or an abort may have been billed.
    let billable = false;
    // What the attempts before the last may have cost (a failed model before its fallback).
    const failedAttempts: Usage = { inputTokens: 0, outputTokens: 0 };

    this.#emit({ type: 'message-start', conversationId: o.conversationId, messageId: o.messageId, model: o.modelAlias });
    if (o.sources !== undefined) this.#emit({ type: 'sources', sources: o.sources });
    const deltas = new DeltaCoalescer(o.coalesceMs ?? DEFAULT_COALESCE_MS, (delta) => this.#emit({ type: 'text-delta', delta }));
    const models = o.fallbackModel === undefined ? [o.model] : [o.model, o.fallbackModel];
    for (const [attempt, model] of models.entries()) {
      upstreamModel = model;
      failure = undefined;
      // Each attempt's usage is its own: a usage chunk from a failed model is not the fallback's.
      usage = undefined;
      // The SDK's retries within this attempt that may have been billed: each its input.
      let retried = 0;
      try {
        // One plain call per upstream event (no async iteration per chunk).
        await streamCompletion(
          o.openai,
          {
            model,
            messages: o.messages,
            signal: this.#controller.signal,
            firstTokenTimeoutMs: o.firstTokenTimeoutMs,
            idleTimeoutMs: o.idleTimeoutMs,
            maxOutputTokens: o.maxOutputTokens,
            maxTokensField: o.maxTokensField,
          },
          (event) => {
            switch (event.type) {
              case 'text':
                firstTokenMs ??= o.now() - started;
                this.#text += event.text;
                deltas.push(event.text);
                this.#persistSoon();
                break;
              case 'finish':
                finish = event.reason;
                break;
              case 'usage':
                usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens };
                break;
              case 'requests-retried':
                retried = event.billed * o.inputTokens;
                break;
              default: {
                const unexpected: never = event;
                throw new Error(`unexpected upstream event ${JSON.stringify(unexpected)}`);
              }
            }
          },
        );
      } catch (error) {
        failure = toUpstreamError(error);
        o.onUpstreamError?.(failure);
      }
      billable = failure === undefined || failure.mayBeBilled || firstTokenMs !== undefined;
      // Retried requests failed before the one that ended the attempt, whatever comes next.
      failedAttempts.inputTokens += retried;
      const next = models[attempt + 1];
      if (failure === undefined || next === undefined || !worthFallingBack(failure, firstTokenMs, this.#controller.signal)) break;
      // This attempt is over and another model is asked: what it may have cost is counted now,
      // as the upstream reported it or else as the input we counted (no text came, or there
      // would be no fallback). Nothing when it cannot have been billed.
      const cost = usage ?? (billable ? { inputTokens: o.inputTokens, outputTokens: 0 } : { inputTokens: 0, outputTokens: 0 });
      failedAttempts.inputTokens += cost.inputTokens;
      failedAttempts.outputTokens += cost.outputTokens;
      const grown = retried + cost.inputTokens + cost.outputTokens;
      if (grown > 0) {
        try {
          await o.onAttemptBilled?.({ inputTokens: retried + cost.inputTokens, outputTokens: cost.outputTokens });
        } catch (error) {
          o.log.error({ err: error, messageId: o.messageId }, 'could not count a failed attempt against the daily budget');
        }
        // Stopped meanwhile: no fallback is asked, and this attempt is the last after all, so its
        // cost is the reply's own usage (counted once: the settle replaces the grown hold).
        if (this.#controller.signal.aborted) {
          failedAttempts.inputTokens -= cost.inputTokens;
          failedAttempts.outputTokens -= cost.outputTokens;
          usage = cost;
          break;
        }
      }
      // The visitor has seen nothing yet, so another model can answer in its place (issue 5).
      o.log.warn(
        {
          messageId: o.messageId,
          model: o.modelAlias,
          upstreamModel: model,
          fallbackModel: next,
          errorCode: failure.code,
          upstreamStatus: failure.status,
          upstreamDetail: failure.detail,
        },
        'model failed before its first token; asking the fallback model',
      );
    }

    // Whatever text is held goes out before anything else (the end, Stop, an error): in order.
    deltas.close();

    const finishReason: FinishReason = this.#controller.signal.aborted && failure === undefined
      ? 'aborted'
      : failure !== undefined
        ? 'error'
        : (finish ?? 'error');
    // A stream that ended without a finish reason was cut short: treat it as a failure.
    if (finishReason === 'error' && failure === undefined) {
      failure = toUpstreamError(new Error('the upstream stream ended without a finish reason'));
      o.onUpstreamError?.(failure);
    }
    const complete = finishReason === 'stop' || finishReason === 'length';
    // No usage chunk (a compatible server that sends none, a drop, an abort): our own count of the
    // input and of the text that came, so the budget and the metrics still see what was probably
    // billed; nothing when the last attempt cannot have been (refused outright, never sent).
    usage ??= billable ? { inputTokens: o.inputTokens, outputTokens: countReply(this.#text) } : { inputTokens: 0, outputTokens: 0 };
    const summary: ReplySummary = {
      modelAlias: o.modelAlias,
      upstreamModel,
      finishReason,
      errorCode: failure?.code,
      firstTokenMs,
      durationMs: o.now() - started,
      usage,
      failedAttemptsUsage: failedAttempts,
    };
    // The final write carries what the reply came to (the support inbox shows it). The reply is
    // counted (o200k) by the next turn that sends it as history, and kept from then on.
    await this.#persist(complete, {
      model: o.modelAlias,
      upstreamModel,
      finishReason,
      ...(failure === undefined ? {} : { errorCode: failure.code }),
      ...(firstTokenMs === undefined ? {} : { firstTokenMs }),
      durationMs: summary.durationMs,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
    });
    o.log[failure ? 'warn' : 'info'](
      {
        route: '/api/chat',
        messageId: o.messageId,
        model: o.modelAlias,
        upstreamModel,
        fallback: upstreamModel !== o.model || undefined,
        finishReason,
        abortReason: this.#abortReason,
        firstTokenMs,
        durationMs: summary.durationMs,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        ...(failedAttempts.inputTokens + failedAttempts.outputTokens > 0 ? { failedAttemptsUsage: failedAttempts } : {}),
        errorCode: failure?.code,
        upstreamStatus: failure?.status,
        // Upstream's own words go to the log only; the visitor gets `failure.message`.
        upstreamDetail: failure?.detail,
        // Visitors' words stay out of the logs unless the operator asks (issue 5).
        ...(o.logContent ? { question: o.messages.at(-1)?.content, reply: this.#text } : {}),
      },
      'reply ended',
    );
    // Before `message-end`, so the visitor's next message finds the stream slot free and the
    // budget counted, on whichever instance it lands.
    try {
      await o.onEnd?.(summary);
    } catch (error) {
      o.log.error({ err: error, messageId: o.messageId }, 'could not account for the reply');
    }
    if (failure !== undefined) {
      this.#emit({ type: 'error', code: failure.code, message: failure.message, retryable: failure.retryable });
    }
    this.#finished = true;
    this.#emit({ type: 'message-end', finishReason, usage });
    this.#listeners.clear();
    await o.buffer.end(o.messageId).catch((error: unknown) => this.#bufferFailedOnce(error));
    this.#resolveDone();
  }

  #emit(event: StreamEvent): void {
    const id = ++this.#lastId;
    for (const listener of this.#listeners) listener(event, id);
    // After a failed append the buffer would have a hole: resumed readers get what came before.
    if (this.#bufferFailed) return;
    this.#options.buffer.append(this.#options.messageId, id, event)?.catch(this.#onBufferError);
  }

  /**
   * The buffer is down (Redis away): the reply goes on for its reader here. The buffered stream is
   * ended where it broke, so readers elsewhere stop at once and fall back to the stored reply
   * instead of waiting on a stream with a hole. One log line, not one per token.
   */
  #bufferFailedOnce(error: unknown): void {
    if (this.#bufferFailed) return;
    this.#bufferFailed = true;
    const { buffer, messageId, log } = this.#options;
    log.warn({ err: error, messageId }, 'could not buffer the reply for resuming');
    buffer.end(messageId).catch(() => {});
  }

  /**
   * Writes the partial text at most once per interval (the first an interval after the start: a
   * short reply is written once, at its end); writes are chained so they land in order.
   */
  #persistSoon(): void {
    const o = this.#options;
    const now = o.now();
    if (now - this.#lastPersist < (o.persistIntervalMs ?? DEFAULT_PERSIST_INTERVAL_MS)) return;
    this.#lastPersist = now;
    void this.#persist(false);
  }

  #persist(complete: boolean, meta?: ReplyMeta): Promise<unknown> {
    const o = this.#options;
    const content = this.#text;
    const status = complete ? 'complete' : 'incomplete';
    this.#writes = this.#writes
      .then(() => o.store.updateMessage(o.conversationId, o.messageId, meta === undefined ? { content, status } : { content, status, meta }))
      .catch((error: unknown) => o.log.error({ err: error, messageId: o.messageId }, 'could not store the reply'));
    return this.#writes;
  }
}

/** Our count of the reply's text, for the usage estimate; 0 should the tokenizer fail on it. */
function countReply(text: string): number {
  try {
    return contentTokens(text);
  } catch {
    return 0;
  }
}

/**
 * A fallback model is asked only when the primary failed before any text went out, nobody
 * aborted, and another model might do better: unavailable or slow, or a model the upstream does
 * not know (404). A rejected key or request (400/401/403) would fail the same way again.
 */
function worthFallingBack(failure: UpstreamError, firstTokenMs: number | undefined, signal: AbortSignal): boolean {
  if (firstTokenMs !== undefined || signal.aborted) return false;
  return failure.code !== 'upstream-rejected' || failure.status === 404;
}
