import { isApiErrorCode, type ApiErrorCode } from './api-error.js';
import { isSource, type Source } from './source.js';

/**
 * The events of a chat stream, one union discriminated on `type`.
 * Every stream that sent `message-start` ends with exactly one `message-end`;
 * an `error` event, when there is one, comes just before it.
 */
export type StreamEvent = MessageStartEvent | SourcesEvent | TextDeltaEvent | ErrorEvent | MessageEndEvent;

export interface MessageStartEvent {
  type: 'message-start';
  conversationId: string;
  messageId: string;
  /** The model alias answering, not the upstream model id. */
  model: string;
}

/**
 * The pages whose text was given to the model for this reply: at most once per stream, before
 * the first `text-delta`.
 */
export interface SourcesEvent {
  type: 'sources';
  sources: Source[];
}

export interface TextDeltaEvent {
  type: 'text-delta';
  delta: string;
}

export interface ErrorEvent {
  type: 'error';
  code: ApiErrorCode;
  message: string;
  retryable: boolean;
}

export type FinishReason = 'stop' | 'length' | 'content-filter' | 'aborted' | 'error';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface MessageEndEvent {
  type: 'message-end';
  finishReason: FinishReason;
  usage: Usage;
}

const FINISH_REASONS: readonly string[] = ['stop', 'length', 'content-filter', 'aborted', 'error'];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/**
 * Type guard for a parsed `data:` payload. The widget trusts nothing it did not check:
 * a proxy in between, or a different server version, may send anything.
 */
export function isStreamEvent(value: unknown): value is StreamEvent {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'message-start':
      return (
        typeof value.conversationId === 'string' &&
        typeof value.messageId === 'string' &&
        typeof value.model === 'string'
      );
    case 'sources':
      return Array.isArray(value.sources) && value.sources.every(isSource);
    case 'text-delta':
      return typeof value.delta === 'string';
    case 'error':
      return (
        isApiErrorCode(value.code) &&
        typeof value.message === 'string' &&
        typeof value.retryable === 'boolean'
      );
    case 'message-end':
      return (
        typeof value.finishReason === 'string' &&
        FINISH_REASONS.includes(value.finishReason) &&
        isObject(value.usage) &&
        typeof value.usage.inputTokens === 'number' &&
        typeof value.usage.outputTokens === 'number'
      );
    default:
      return false;
  }
}
