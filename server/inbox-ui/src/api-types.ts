import type { ChatMessage, FinishReason } from '@chatdrop/shared';

/** The inbox API's answers, as `/api/inbox/...` sends them (server/src/inbox/inbox-router.ts). */

export interface SessionInfo {
  user: string;
  models: string[];
  /** Hand-offs are set up: marks and the hand-off filter are shown. */
  handoff: boolean;
  /** Knowledge is set up: its status is shown with the figures. */
  knowledge: boolean;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** A conversation's hand-offs in one word: its latest hand-off's (failed if a channel gave up, pending while one is tried). */
export interface HandoffMark {
  state: DeliveryState;
  /** When the latest was asked for. */
  at: string;
  /** How many hand-offs the conversation has. */
  count: number;
}

/** One channel's delivery of a hand-off. */
export interface HandoffDelivery {
  channel: 'webhook' | 'email';
  state: DeliveryState;
  attempts: number;
  /** The last failed attempt's problem in plain words; null when none failed. */
  problem: string | null;
  /** The same as the receiver said it (`HTTP 500: ...`). */
  detail: string | null;
  /** While pending: when it is tried next. */
  nextAttemptAt: string | null;
  updatedAt: string;
}

/** One hand-off: the visitor asked a person to answer by email. */
export interface HandoffRecord {
  id: string;
  at: string;
  email: string;
  note: string | null;
  deliveries: HandoffDelivery[];
}

export interface ConversationSummary {
  id: string;
  createdAt: string;
  updatedAt: string;
  page?: string;
  firstQuestion: string;
  messages: number;
  up: number;
  down: number;
  incomplete: number;
  failed: number;
  handoff?: HandoffMark;
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  next?: string;
}

export interface ReplyMeta {
  model: string;
  upstreamModel: string;
  finishReason: FinishReason;
  errorCode?: string;
  firstTokenMs?: number;
  durationMs: number;
  inputTokens: number;
  outputTokens: number;
}

export interface TranscriptMessage extends ChatMessage {
  rating?: 'up' | 'down';
  reply?: ReplyMeta;
}

export interface Transcript {
  id: string;
  createdAt: string;
  updatedAt: string;
  page?: string;
  handoff?: HandoffMark;
  /** Every hand-off, oldest first; absent where hand-offs are not set up. */
  handoffs?: HandoffRecord[];
  messages: TranscriptMessage[];
}

export interface DayFigures {
  day: string;
  conversations: number;
  messages: number;
  up: number;
  down: number;
  failed: number;
  uncovered: number;
  tokens: number;
}

export interface KnowledgeStatus {
  pages: number;
  passages: number;
  /** A crawl is running now. */
  crawling: boolean;
  /** When the last crawl ended. */
  lastCrawl?: string;
  /** When the next refresh is due. */
  nextCrawl?: string;
  /** The last crawl's unreadable pages, by reason. */
  failures: Record<string, number>;
}

export interface Figures {
  days: DayFigures[];
  budget: { limit: number | null; usedToday: number | null };
  /** Absent without knowledge; null when its status could not be read. */
  knowledge?: KnowledgeStatus | null;
}
