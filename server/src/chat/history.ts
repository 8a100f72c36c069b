import type { ChatMessage } from '@chatdrop/shared';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

/** One message of the upstream chat request, in OpenAI's shape. */
export interface UpstreamMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface HistoryInput {
  systemPrompt: string;
  /** The stored conversation, oldest first. */
  history: readonly ChatMessage[];
  /** The visitor's new message. */
  message: string;
  /** The most input tokens the upstream request may carry, as counted here. */
  budgetTokens: number;
}

export type HistoryResult = { messages: UpstreamMessage[]; inputTokens: number } | { error: 'too-large' };

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

function messageTokens(message: UpstreamMessage): number {
  return TOKENS_PER_MESSAGE + countTokens(message.role, AS_PLAIN_TEXT) + countTokens(message.content, AS_PLAIN_TEXT);
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
 * conversation is tokenized only as far as the budget reaches, plus one turn.
 */
export function buildUpstreamMessages(input: HistoryInput): HistoryResult {
  const system: UpstreamMessage = { role: 'system', content: input.systemPrompt };
  const next: UpstreamMessage = { role: 'user', content: input.message };
  let used = REPLY_PRIMING_TOKENS + messageTokens(system) + messageTokens(next);
  if (used > input.budgetTokens) return { error: 'too-large' };

  // Turns collected newest first, reversed once at the end.
  const turns: UpstreamMessage[][] = [];
  const { history } = input;
  let i = history.length - 1;
  while (i >= 0) {
    const answer = history[i] as ChatMessage;
    const question = history[i - 1];
    if (answer.role !== 'assistant' || question?.role !== 'user') {
      // An unanswered user message, or an assistant message with no question before it.
      i -= 1;
      continue;
    }
    i -= 2;
    if (answer.content === '') continue; // the question went unanswered: skip both
    const turn: UpstreamMessage[] = [
      { role: 'user', content: question.content },
      { role: 'assistant', content: answer.content },
    ];
    const cost = messageTokens(turn[0] as UpstreamMessage) + messageTokens(turn[1] as UpstreamMessage);
    // Stop rather than skip to a smaller older turn: the history sent stays one unbroken stretch.
    if (used + cost > input.budgetTokens) break;
    used += cost;
    turns.push(turn);
  }

  const messages = [system, ...turns.reverse().flat(), next];
  return { messages, inputTokens: used };
}
