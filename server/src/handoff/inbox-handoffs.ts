import type { HandoffRecord, InboxHandoffs } from '../inbox/inbox-inputs.js';
import { deliveryProblem } from './delivery-problem.js';
import type { HandoffOutbox, HandoffSummary } from './handoff-outbox.js';

/**
 * The hand-off outbox as the support inbox reads it: each conversation's hand-offs with their
 * channels' delivery states (the last error also in a support person's words), the conversations
 * that have one (the outbox's own index, for the hand-off filter), and deleting a conversation's
 * hand-offs when the inbox deletes the conversation. `createApp` wires it whenever the inbox and
 * a hand-off channel are both configured.
 */
export function inboxHandoffs(outbox: HandoffOutbox): InboxHandoffs {
  return {
    async handoffsFor(conversationIds) {
      const found = await outbox.handoffsFor(conversationIds);
      return new Map([...found].map(([id, handoffs]) => [id, handoffs.map(toRecord)]));
    },
    conversationsWithHandoffs: (page) => outbox.conversationsWithHandoffs(page),
    async forget(conversationId) {
      await outbox.deleteForConversation(conversationId);
    },
  };
}

function toRecord(handoff: HandoffSummary): HandoffRecord {
  return {
    id: handoff.id,
    at: handoff.createdAt,
    email: handoff.email,
    note: handoff.note,
    deliveries: handoff.deliveries.map((delivery) => ({
      channel: delivery.channel,
      state: delivery.state,
      attempts: delivery.attempts,
      problem: delivery.lastError === null ? null : deliveryProblem(delivery.channel, delivery.lastError),
      detail: delivery.lastError,
      nextAttemptAt: delivery.nextAttemptAt,
      updatedAt: delivery.updatedAt,
    })),
  };
}
