import type { ChannelName, Handoff } from './handoff-outbox.js';

/**
 * One way a hand-off reaches the team (`webhook-channel.ts`, `email-channel.ts`). `deliver`
 * resolves once the receiver has taken it and rejects otherwise; it is called again for the same
 * hand-off after a failure, a lost lease or a restart, so receivers get the hand-off id as an
 * idempotency key to drop a second copy.
 */
export interface HandoffChannel {
  readonly name: ChannelName;
  /** `signal` aborts at shutdown: give up at once where the protocol allows. */
  deliver(handoff: Handoff, attempt: number, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

/**
 * A delivery that did not go through, in the operator's words (`HTTP 500`, `SMTP 451 ...`): kept
 * as the delivery's last error for the inbox and the log. Never carries a secret or a password.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
}
