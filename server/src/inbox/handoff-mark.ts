import type { HandoffMark, HandoffRecord } from './inbox-inputs.js';

/**
 * A conversation's hand-offs in one mark: the latest hand-off decides, since it is the visitor's
 * latest request and carries the longest transcript. Of its channels, `failed` when any gave up
 * (the team may not have it where they expect it), else `pending` while any is still being tried,
 * else `delivered`. Undefined for a conversation without hand-offs.
 */
export function handoffMark(handoffs: readonly HandoffRecord[]): HandoffMark | undefined {
  const latest = handoffs.at(-1);
  if (latest === undefined) return undefined;
  const states = new Set(latest.deliveries.map((delivery) => delivery.state));
  const state = states.has('failed') ? 'failed' : states.has('pending') ? 'pending' : 'delivered';
  return { state, at: latest.at, count: handoffs.length };
}
