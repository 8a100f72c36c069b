import type { ChatMessage } from '@chatdrop/shared';
import type { StoredMessage } from './conversation-store.js';

/**
 * A stored message as it leaves the server: the contract's fields only (`ChatMessage`, in the
 * contract's order), `sources` only where the store has them. What the store keeps for itself (the
 * token count) stays behind, whatever a backend adds to `StoredMessage` later. The visitor's
 * `GET /api/conversations/:id` answers this; the inbox's transcript adds its own fields to it
 * (`transcript-message.ts`).
 */
export function publicMessage({ id, role, content, createdAt, status, sources }: StoredMessage): ChatMessage {
  return { id, role, content, createdAt, status, ...(sources === undefined ? {} : { sources }) };
}
