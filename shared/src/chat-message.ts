import type { Source } from './source.js';

/** One stored turn of a conversation, as `GET /api/conversations/:id` returns it. */
export type ChatRole = 'user' | 'assistant';

/** `incomplete` until the reply ended with `stop` or `length`; a cut reply stays `incomplete`. */
export type MessageStatus = 'complete' | 'incomplete';

export interface ChatMessage {
  id: string;
  role: ChatRole;
  content: string;
  /** ISO 8601 timestamp. */
  createdAt: string;
  status: MessageStatus;
  /** The knowledge pages an assistant reply was grounded in; absent when none were given. */
  sources?: Source[];
}

export interface Conversation {
  id: string;
  messages: ChatMessage[];
}
