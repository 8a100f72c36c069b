import type { ConversationStore } from '../store/conversation-store.js';
import type { ReplyBus } from '../replies/reply-bus/reply-bus.js';
import type { ReplyRegistry } from './reply-registry.js';

/**
 * Deletes a conversation, first stopping a reply still streaming into it (it would only write
 * into nothing), here and on whichever instance runs it: only the last reply can be running.
 * False when there was no such conversation. The visitor's DELETE and the support inbox's use it.
 */
export async function deleteConversation(parts: { store: ConversationStore; replies: ReplyRegistry; bus: ReplyBus }, id: string): Promise<boolean> {
  const { store, replies, bus } = parts;
  replies.abortConversation(id, 'deleted');
  const last = (await store.getConversation(id))?.messages.at(-1);
  if (last?.role === 'assistant' && last.status === 'incomplete') await bus.requestStop(last.id);
  return store.deleteConversation(id);
}
