import type { ChatMessage } from './chat-message.js';
import type { FinishReason } from './stream-event.js';

/**
 * The support inbox's answers, as `/api/inbox/...` sends them (server/src/inbox/inbox-router.ts)
 * and the inbox page reads them (server/inbox-ui). One definition for both: the server's route
 * checks what it sends against these, so a field added on one side and not followed on the other
 * fails the typecheck. Times are ISO 8601 strings; a field that is absent is left out of the JSON.
 */

/** `GET /api/inbox/session`: who is signed in, and what this server has set up. */
export interface SessionInfo {
  user: string;
  /** The model aliases (`CHATDROP_MODELS`), for the model filter. */
  models: string[];
  /** Hand-offs are set up: marks and the hand-off filter are shown. */
  handoff: boolean;
  /** Knowledge is set up: its status is shown with the figures. */
  knowledge: boolean;
}

/** `pending`: waiting for its next attempt (or being attempted); `failed`: retrying stopped. */
export type DeliveryState = 'pending' | 'delivered' | 'failed';

/**
 * A conversation's hand-offs in one word, the latest one's: `failed` when any of its channels
 * gave up, else `pending` while any is still tried, else `delivered`.
 */
export interface HandoffMark {
  state: DeliveryState;
  /** When the latest hand-off was asked for. */
  at: string;
  /** How many hand-offs the conversation has. */
  count: number;
}

/** One channel's delivery of a hand-off. */
export interface HandoffDelivery {
  channel: 'webhook' | 'email';
  state: DeliveryState;
  /** Attempts made so far. */
  attempts: number;
  /** Why the last failed attempt failed, in words a support person understands; null when none failed. */
  problem: string | null;
  /** The same as the receiver or the network said it (`HTTP 500: ...`), for whoever fixes the channel. */
  detail: string | null;
  /** While pending: when it is tried next. */
  nextAttemptAt: string | null;
  /** When its state last changed. */
  updatedAt: string;
}

/** One hand-off: the visitor asked for a person to answer by email. */
export interface HandoffRecord {
  id: string;
  /** When the visitor asked. */
  at: string;
  /** Where the team answers. */
  email: string;
  note: string | null;
  /** One per channel configured when it was made. */
  deliveries: HandoffDelivery[];
}

/** One line of `GET /api/inbox/conversations`. */
export interface ConversationSummary {
  id: string;
  createdAt: string;
  updatedAt: string;
  /** The page the conversation started on (without query or fragment), when the widget sent one. */
  page?: string;
  /** The visitor's first message, cut to 280 characters. */
  firstQuestion: string;
  messages: number;
  up: number;
  down: number;
  /** Assistant replies that did not finish (`status: incomplete`), failed ones included. */
  incomplete: number;
  /** Assistant replies that ended in an error. */
  failed: number;
  /** Absent when the conversation has no hand-off (or hand-offs are not set up). */
  handoff?: HandoffMark;
}

/** `GET /api/inbox/conversations`: a page of the listing, newest first. */
export interface ConversationPage {
  conversations: ConversationSummary[];
  /** The cursor of the next page; absent when there is none. */
  next?: string;
}

/** What a finished reply came to, shown beside it. */
export interface ReplyMeta {
  /** The model alias the visitor's request named (`CHATDROP_MODELS`). */
  model: string;
  /** The upstream model that answered (the fallback's id when it was used). */
  upstreamModel: string;
  finishReason: FinishReason;
  /** The contract's error code when the reply failed. */
  errorCode?: string;
  /** From the request to the first token; absent when no token came. */
  firstTokenMs?: number;
  durationMs: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * A message as the inbox shows it: the contract's fields (in the order `id, role, content,
 * status, createdAt`, kept so that an export stays byte for byte what it was), its rating and,
 * for a finished reply, its metadata.
 */
export interface TranscriptMessage extends ChatMessage {
  rating?: 'up' | 'down';
  reply?: ReplyMeta;
}

/** `GET /api/inbox/conversations/:id`. */
export interface Transcript {
  id: string;
  createdAt: string;
  updatedAt: string;
  page?: string;
  handoff?: HandoffMark;
  /** Every hand-off, oldest first; `[]` where hand-offs are set up and there is none, absent where they are not. */
  handoffs?: readonly HandoffRecord[];
  messages: TranscriptMessage[];
}

/** The figures of one UTC day. */
export interface DayFigures {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  /** Conversations started that day. */
  conversations: number;
  /** Messages written that day, the visitors' and the assistant's. */
  messages: number;
  /** Ratings in the conversations started that day. */
  up: number;
  down: number;
  /** Replies that ended in an error. */
  failed: number;
  /** Replies for which no knowledge source covered the question (`sources: []`). */
  uncovered: number;
  /** Input + output tokens of that day's replies. */
  tokens: number;
}

/**
 * Why the crawler could not read a page (server/src/knowledge/crawl.ts `FailureReason`, which
 * must fit in this: the server's knowledge status is checked against it), so that the inbox page
 * has words for every reason.
 */
export type KnowledgeFailureReason =
  | 'robots'
  | 'off-origin'
  | 'redirect-off-origin'
  | 'too-many-redirects'
  | 'http-error'
  | 'gone'
  | 'unsupported-type'
  | 'too-large'
  | 'timeout'
  | 'network'
  | 'unparsable'
  | 'noindex'
  | 'empty'
  | 'max-pages';

/** The knowledge index's state, shown beside the daily figures. */
export interface KnowledgeStatus {
  pages: number;
  passages: number;
  /** A crawl is running now (on the instance that answered). */
  crawling: boolean;
  /** When the last crawl ended; absent before the first. */
  lastCrawl?: string;
  /** When the next refresh is due; absent before the first crawl. */
  nextCrawl?: string;
  /** Pages that could not be read in the last crawl, by reason; only reasons that occurred, each above 0. */
  failures: Partial<Record<KnowledgeFailureReason, number>>;
}

/** `GET /api/inbox/figures?days=N`. */
export interface Figures {
  days: DayFigures[];
  /** `CHATDROP_DAILY_TOKEN_BUDGET` and the tokens used today: both null without a budget, `usedToday` also when it could not be read. */
  budget: { limit: number | null; usedToday: number | null };
  /** Absent without knowledge; null when its status could not be read. */
  knowledge?: KnowledgeStatus | null;
}
