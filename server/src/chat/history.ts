import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type { StoredMessage } from '../store/conversation-store.js';

/** One message of the upstream chat request, in OpenAI's shape. */
export interface UpstreamMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface HistoryInput {
  systemPrompt: string;
  /** The stored conversation, oldest first; a message's stored `tokens` is used instead of counting it again. */
  history: readonly StoredMessage[];
  /** The visitor's new message. */
  message: string;
  /** The most input tokens the upstream request may carry, as counted here. */
  budgetTokens: number;
}

export type HistoryResult =
  | {
      messages: UpstreamMessage[];
      inputTokens: number;
      /** The new message's content alone, to be stored with it (`StoredMessage.tokens`). */
      messageTokens: number;
      /** Counts made here for `complete` history messages stored without one, to be kept (`NewTurn.counts`). */
      counted: { messageId: string; tokens: number }[];
    }
  | { error: 'too-large' };

/**
 * OpenAI's chat format wraps each message as `<|im_start|>role<|im_sep|>content<|im_end|>`: three
 * tokens around the role and content. The reply is primed with `<|im_start|>assistant<|im_sep|>`,
 * three more. This matches gpt-tokenizer's `encodeChat(messages, 'gpt-4o')` token for token, which
 * the tests use as the independent measure.
 */
const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING_TOKENS = 3;

/**
 * A visitor may type `<|endoftext|>`; the API sends it as plain text, so count it as plain text.
 * (gpt-tokenizer's default throws on special tokens, which would turn a visitor's text into a 500.)
 */
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** What a role's name costs (one token each in o200k), counted once. */
const ROLE_TOKENS: Record<UpstreamMessage['role'], number> = {
  system: countTokens('system', AS_PLAIN_TEXT),
  user: countTokens('user', AS_PLAIN_TEXT),
  assistant: countTokens('assistant', AS_PLAIN_TEXT),
};

export function contentTokens(content: string): number {
  return countTokens(content, AS_PLAIN_TEXT);
}

/** A message's cost in the request: its wrapping, its role and its content. */
function messageTokens(role: UpstreamMessage['role'], content: number): number {
  return TOKENS_PER_MESSAGE + ROLE_TOKENS[role] + content;
}

/**
 * The system prompt is the same string turn after turn (unless knowledge grounds each question
 * in passages of its own): its count is kept for the last one seen.
 */
let lastSystemPrompt: { text: string; tokens: number } | undefined;
function systemPromptTokens(text: string): number {
  if (lastSystemPrompt?.text !== text) lastSystemPrompt = { text, tokens: contentTokens(text) };
  return lastSystemPrompt.tokens;
}

/**
 * The upstream request for one turn (issue 3): the system prompt, then as many whole recent turns
 * as fit `budgetTokens`, then the new message. Counted with o200k, the encoding of current OpenAI
 * models, so the count is what the upstream bills, not characters divided by four.
 *
 * - The system prompt and the new message are never dropped; when they alone exceed the budget the
 *   answer is `too-large`, before any upstream call.
 * - A turn is a user message and the assistant answer right after it. Turns go whole or not at all,
 *   oldest first. A user message without an answer (none, or an empty one) is skipped, so the
 *   model never sees a question it seemingly ignored. That also means `history` may already end
 *   with the new message, stored before the upstream call: it is unanswered, so it is not sent twice.
 * - An incomplete answer (cut by Stop or a disconnect) is sent as it is: the visitor saw that text.
 *
 * Cost: walks from the newest turn back and stops at the first turn that does not fit, so a long
 * conversation is read only as far as the budget reaches, plus one turn; a message stored with
 * its token count is not tokenized again, and one without (a reply, until the turn after it) is
 * counted here and handed back in `counted` for the store to keep. The system prompt's count is
 * kept while it stays the same. So a turn tokenizes its new message and the reply before it.
 */
export function buildUpstreamMessages(input: HistoryInput): HistoryResult {
  const system: UpstreamMessage = { role: 'system', content: input.systemPrompt };
  const next: UpstreamMessage = { role: 'user', content: input.message };
  const nextTokens = contentTokens(input.message);
  let used = REPLY_PRIMING_TOKENS + messageTokens('system', systemPromptTokens(input.systemPrompt)) + messageTokens('user', nextTokens);
  if (used > input.budgetTokens) return { error: 'too-large' };

  // Turns collected newest first, reversed once at the end.
  const turns: UpstreamMessage[][] = [];
  const counted: { messageId: string; tokens: number }[] = [];
  const { history } = input;
  let i = history.length - 1;
  while (i >= 0) {
    const answer = history[i] as StoredMessage;
    const question = history[i - 1];
    if (answer.role !== 'assistant' || question?.role !== 'user') {
      // An unanswered user message, or an assistant message with no question before it.
      i -= 1;
      continue;
    }
    i -= 2;
    if (answer.content === '') continue; // the question went unanswered: skip both
    const cost = messageTokens('user', tokensOf(question, counted)) + messageTokens('assistant', tokensOf(answer, counted));
    // Stop rather than skip to a smaller older turn: the history sent stays one unbroken stretch.
    if (used + cost > input.budgetTokens) break;
    used += cost;
    turns.push([
      { role: 'user', content: question.content },
      { role: 'assistant', content: answer.content },
    ]);
  }

  const messages = [system, ...turns.reverse().flat(), next];
  return { messages, inputTokens: used, messageTokens: nextTokens, counted };
}

/** A stored message's count, or its content counted now (and noted, when worth keeping). */
function tokensOf(message: StoredMessage, counted: { messageId: string; tokens: number }[]): number {
  if (message.tokens !== undefined) return message.tokens;
  const tokens = contentTokens(message.content);
  // A complete message's text is final, so its count can be kept; an incomplete one may still grow.
  if (message.status === 'complete') counted.push({ messageId: message.id, tokens });
  return tokens;
}
