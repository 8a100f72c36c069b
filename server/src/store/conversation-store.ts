import type { ChatMessage, ChatRole, Conversation, MessageStatus, Source } from '@chatdrop/shared';
import type { DayFigures, InboxPage, InboxQuery, ReplyMeta, StoredSession, Transcript } from './inbox-query.js';

export type Rating = 'up' | 'down';

export interface NewMessage {
  role: ChatRole;
  content: string;
  status: MessageStatus;
  /** An assistant reply's knowledge pages (`[]`: knowledge on, nothing relevant); absent: none given. */
  sources?: Source[];
  /** The content's token count (o200k, see `history.ts`), when the caller has it. */
  tokens?: number;
  /**
   * The page the visitor was on (no query or fragment; checked at the edge). The conversation
   * keeps the first one it is given as the page it started on.
   */
  page?: string;
}

export interface MessagePatch {
  content: string;
  status: MessageStatus;
  /** The new content's token count; absent: not known, and any count kept before is dropped. */
  tokens?: number;
  /**
   * Given once, with the reply's final text: what it came to. The partial writes while it streams
   * carry none, and a reply becomes searchable only with this one (the search index is written
   * once per reply, not on every streamed write).
   */
  meta?: ReplyMeta;
}

/**
 * A message as the store keeps it: the contract's fields, and what only the server needs. Routes
 * answer the contract's fields alone (`public-message.ts`).
 */
export interface StoredMessage extends ChatMessage {
  /**
   * The content's token count, kept with it so that building the next turn's history does not
   * count the whole conversation again. Absent when not known (older rows, a reply cut mid-way).
   */
  tokens?: number;
}

export interface StoredConversation extends Conversation {
  messages: StoredMessage[];
}

/** The start of a turn, stored in one step before the upstream call (`appendTurn`). */
export interface NewTurn {
  /** Absent: a new conversation is created in the same step. */
  conversationId?: string;
  /** The visitor's message; absent when a stored question is asked again (Retry). */
  question?: NewMessage;
  /** A failed reply that makes way for this one (Retry): deleted in the same step, if still there. */
  replaces?: string;
  /** The reply the upstream's answer streams into, stored empty and `incomplete`. */
  reply: NewMessage;
  /**
   * Token counts of earlier messages that had none, counted for this turn's history: kept in the
   * same step for the turns after it. Only a `complete` message without a count takes one (its
   * text no longer changes); any other is left as it is.
   */
  counts?: readonly { messageId: string; tokens: number }[];
}

export interface StartedTurn {
  conversationId: string;
  question?: StoredMessage;
  reply: StoredMessage;
}

/**
 * Where conversations live. One interface, one file per backend (`sqlite-store.ts`,
 * `redis-store.ts`), and one shared suite (`conversation-store.suite.ts`) every backend passes.
 *
 * Every method is async so that a networked backend fits the same shape. Ids are minted by the
 * store: at least 128 random bits, URL-safe (see `new-id.ts`). Lookups of unknown or malformed
 * ids answer `undefined`/`false`, never throw: a visitor's bad id is not a server error.
 * A backend that cannot be reached (Redis down) rejects with `StoreUnavailableError`
 * (`store-unavailable-error.ts`), which routes answer as `upstream-unavailable` / 503.
 */
export interface ConversationStore {
  /** Creates an empty conversation and returns its id. */
  createConversation(): Promise<string>;
  /** The conversation with its messages in the order they were appended, or undefined. */
  getConversation(id: string): Promise<StoredConversation | undefined>;
  /** Appends a message; answers undefined when the conversation does not exist. */
  appendMessage(conversationId: string, message: NewMessage): Promise<StoredMessage | undefined>;
  /**
   * A turn's writes as one atomic step (one transaction, one script): the conversation created
   * when new, a replaced reply deleted, the question and the empty reply appended, the
   * conversation's activity touched. Answers undefined, having written nothing, when
   * `conversationId` names no conversation.
   */
  appendTurn(turn: NewTurn): Promise<StartedTurn | undefined>;
  /** Replaces the text and status of a message (a reply being streamed). False when unknown. */
  updateMessage(conversationId: string, messageId: string, patch: MessagePatch): Promise<boolean>;
  /** Deletes one message and its rating (a failed reply being retried). False when unknown. */
  deleteMessage(conversationId: string, messageId: string): Promise<boolean>;
  /** Deletes a conversation and everything in it. False when it did not exist. */
  deleteConversation(id: string): Promise<boolean>;
  /** Records a rating for an assistant message, last one wins. False when no such message. */
  setFeedback(conversationId: string, messageId: string, rating: Rating): Promise<boolean>;
  /** The rating of a message, if any. */
  getFeedback(conversationId: string, messageId: string): Promise<Rating | undefined>;
  /** Deletes conversations whose last activity is older than `cutoffMs` (epoch ms). */
  deleteIdleSince(cutoffMs: number): Promise<number>;
  /**
   * The support inbox's listing (`inbox-query.ts`): conversations newest first that match the
   * filter, one page at a time. Only the inbox calls this, behind its sign-in.
   */
  listConversations(query: InboxQuery): Promise<InboxPage>;
  /** One conversation for the inbox: every message with its rating and reply metadata. */
  getTranscript(id: string): Promise<Transcript | undefined>;
  /** The figures of each UTC day in [fromMs, toMs) (day boundaries), oldest first, empty days included. */
  dailyFigures(fromMs: number, toMs: number): Promise<DayFigures[]>;
  /**
   * Support inbox sessions, shared by every instance on this store and kept across restarts.
   * `putSession` creates or replaces one; `getSession` answers undefined once it has expired.
   */
  putSession(idHash: string, session: StoredSession): Promise<void>;
  getSession(idHash: string): Promise<StoredSession | undefined>;
  deleteSession(idHash: string): Promise<void>;
  close(): Promise<void>;
}
