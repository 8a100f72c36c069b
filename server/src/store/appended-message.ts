import type { NewMessage, StoredMessage } from './conversation-store.js';

/**
 * A message just appended, as `getConversation` will read it back (every backend answers
 * `appendMessage` and `appendTurn` with it, without reading it again): `sources` and `tokens`
 * only where given; the page is the conversation's, not the message's.
 */
export function appendedMessage(id: string, message: NewMessage, now: number): StoredMessage {
  const stored: StoredMessage = { id, role: message.role, content: message.content, status: message.status, createdAt: new Date(now).toISOString() };
  if (message.sources !== undefined) stored.sources = message.sources;
  if (message.tokens !== undefined) stored.tokens = message.tokens;
  return stored;
}
