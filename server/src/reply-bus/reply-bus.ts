/**
 * Stop for a reply, whichever instance runs it (issue 6: "Stop sent to B aborts the upstream
 * request running on A"). The instance running a reply registers it with `onStop`; the stop route
 * on any instance calls `requestStop`. Memory for one instance, Redis pub/sub for several.
 */
export interface ReplyBus {
  /**
   * Registers a reply running on this instance; `handler` runs when a stop for `messageId` arrives
   * (at most once per request, possibly more than once overall, so it must be idempotent, as
   * aborting is). Returns the unregister function: call it when the reply ends.
   */
  onStop(messageId: string, handler: () => void): () => void;
  /**
   * Delivers a stop to the instance running `messageId`. Resolves once it is handed over (locally
   * at once; on Redis once published), not once the reply has ended; unknown ids are a no-op.
   */
  requestStop(messageId: string): Promise<void>;
  /** Closes what the bus opened (its subscriber connection); not an injected Redis client. */
  close(): Promise<void>;
}
