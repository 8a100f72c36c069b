import type { ChatMessage } from '@chatdrop/shared';
import { ApiError } from '../http/api-error.js';

export interface ConversationCaps {
  /** `CHATDROP_MAX_TURNS`: visitor messages one conversation may hold. */
  maxTurns: number;
  /** `CHATDROP_MAX_CONVERSATION_CHARS`: characters stored in one conversation, every message counted. */
  maxConversationChars: number;
}

/**
 * The per-conversation caps (issue 5): a conversation cannot grow without end in the store, and
 * one visitor cannot keep one conversation going forever. Checked before anything is stored, so
 * a refused turn leaves the conversation as it was; the widget offers "New conversation".
 *
 * Characters are UTF-16 code units (`String.length`): what the store holds, cheap to count, and
 * never fewer than the characters a visitor sees.
 */
export function checkConversationCaps(history: readonly ChatMessage[], message: string, caps: ConversationCaps): void {
  let turns = 1;
  let chars = message.length;
  for (const stored of history) {
    if (stored.role === 'user') turns++;
    chars += stored.content.length;
  }
  if (turns > caps.maxTurns || chars > caps.maxConversationChars) {
    throw new ApiError('too-large', 413, 'This conversation has reached its length limit. Please start a new conversation.');
  }
}
