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

export interface HandoffMark {
  state: 'pending' | 'delivered' | 'failed';
  at: string;
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
  lastCrawl?: string;
  failures: Record<string, number>;
}

export interface Figures {
  days: DayFigures[];
  budget: { limit: number | null; usedToday: number | null };
  /** Absent without knowledge; null when its status could not be read. */
  knowledge?: KnowledgeStatus | null;
}
