import type { ConversationSummary as ListedConversation, Transcript as InboxTranscript } from '@chatdrop/shared';
import type { Rating } from './conversation-store.js';

/**
 * What the store gives the inbox is what the inbox's answers carry (`@chatdrop/shared`'s
 * inbox-api.ts), so its types are those: `ReplyMeta` is what a finished reply came to, stored with
 * its final text (not with the partial writes while it streams); the figures count it.
 */
export type { DayFigures, ReplyMeta, TranscriptMessage } from '@chatdrop/shared';

/**
 * Which conversations the inbox shows. Every field narrows; none set lists everything.
 * Parsed from the inbox's query string at the edge (`inbox/inbox-query-schema.ts`).
 */
export interface InboxFilter {
  /**
   * Words that must all occur in the conversation, in the visitor's or the assistant's messages,
   * each as the start of a word ("refund" finds "refunds"), case and accents ignored.
   */
  text?: string;
  /** At least one reply rated so. */
  rating?: Rating;
  /** `failed`: a reply ended in an error; `incomplete`: a reply did not finish (failed, stopped, cut off). */
  problem?: 'failed' | 'incomplete';
  /** At least one reply from this model alias. */
  model?: string;
  /** Part of the page the conversation started on, case ignored. */
  page?: string;
  /** Started at or after this time (epoch ms). */
  from?: number;
  /** Started before this time (epoch ms). */
  to?: number;
  /** Only these conversations (the hand-off filter gives the ids that have one). */
  ids?: readonly string[];
}

export interface InboxQuery extends InboxFilter {
  /** Conversations per page, 1..200. */
  limit: number;
  /** `next` of the previous page; absent for the first. */
  cursor?: string;
}

/**
 * One line of the inbox's listing, without the hand-off mark (the route adds it). Every backend
 * names `page`, undefined when the widget sent none (the JSON then leaves it out).
 */
export type ConversationSummary = Omit<ListedConversation, 'handoff' | 'page'> & { page: ListedConversation['page'] };

export interface InboxPage {
  conversations: ConversationSummary[];
  /**
   * The cursor of the next page; undefined when there is none. A page may hold fewer than
   * `limit` conversations and still have a next one: a backend may stop a long scan early.
   */
  next: string | undefined;
}

/** A whole conversation as the inbox shows it, without its hand-offs (the route adds them); `page` as above. */
export type Transcript = Omit<InboxTranscript, 'handoff' | 'handoffs' | 'page'> & { page: InboxTranscript['page'] };

/**
 * A support inbox sign-in as the store keeps it, under the SHA-256 of its id (the id itself is
 * only ever in the browser's cookie, so a copy of the store opens no session).
 */
export interface StoredSession {
  user: string;
  /** A digest of the user's password entry at sign-in: a new password ends the session. */
  credential: string;
  createdAt: number;
  lastSeenAt: number;
  /** Epoch ms; the store forgets the session then (the inbox sets it from its idle and absolute lifetimes). */
  expiresAt: number;
}

/** How much of the first question a summary carries. */
export const FIRST_QUESTION_CHARS = 280;

export const DAY_MS = 24 * 60 * 60 * 1000;

/** `YYYY-MM-DD` of the UTC day `index` (days since the epoch). */
export function dayName(index: number): string {
  return new Date(index * DAY_MS).toISOString().slice(0, 10);
}

/**
 * A cursor is `<createdAt>.<id>` (a listing, newest first) or `n<number>` (a search, by the
 * store's own order); both are checked at the edge with this before a store sees them.
 */
export const CURSOR_PATTERN = /^(?:\d{1,16}\.[A-Za-z0-9_-]{24}|n\d{1,16})$/;

/**
 * The words of a search, as both backends split them: runs of letters and digits, lower-cased,
 * accents removed (as SQLite FTS5's `unicode61 remove_diacritics 2` does). Linear in the input.
 * At most `MAX_SEARCH_WORDS`; an empty list means no search.
 */
export function searchWords(text: string): string[] {
  const words = normalizeText(text).match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].slice(0, MAX_SEARCH_WORDS).map((word) => word.slice(0, MAX_SEARCH_WORD_CHARS));
}

export const MAX_SEARCH_WORDS = 16;
const MAX_SEARCH_WORD_CHARS = 64;

/** Lower case without accents (NFD, then the combining marks dropped). */
export function normalizeText(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
}
