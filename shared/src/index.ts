export type { ChatMessage, ChatRole, Conversation, MessageStatus } from './chat-message.js';
export type { ChatRequest, FeedbackRequest, HandoffRequest, ModelOption, WidgetConfig } from './chat-request.js';
export type {
  ConversationPage,
  ConversationSummary,
  DayFigures,
  DeliveryState,
  Figures,
  HandoffDelivery,
  HandoffMark,
  HandoffRecord,
  KnowledgeFailureReason,
  KnowledgeStatus,
  ReplyMeta,
  SessionInfo,
  Transcript,
  TranscriptMessage,
} from './inbox-api.js';
export { isSource, type Source } from './source.js';
export {
  API_ERROR_CODES,
  isApiErrorBody,
  isApiErrorCode,
  type ApiErrorBody,
  type ApiErrorCode,
} from './api-error.js';
export {
  isStreamEvent,
  type ErrorEvent,
  type FinishReason,
  type MessageEndEvent,
  type MessageStartEvent,
  type SourcesEvent,
  type StreamEvent,
  type TextDeltaEvent,
  type Usage,
} from './stream-event.js';
export { SSE_PING, SSE_PING_INTERVAL_MS, decodeSseData, encodeSseEvent } from './sse-encode.js';
export { createSseDecoder, type SseMessage } from './sse-decode.js';
