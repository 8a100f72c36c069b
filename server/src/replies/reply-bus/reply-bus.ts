/**
 * Messages to a running reply, whichever instance runs it (issue 6): Stop ("Stop sent to B aborts
 * the upstream request running on A") and "a reader follows you from here" (so a reply resumed on
 * another instance is not aborted when the resume grace runs out). The instance running a reply
 * registers it; the routes on any instance send. Memory for one instance, Redis pub/sub for several.
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
  /**
   * Registers a reply running on this instance for news of readers following it from another
   * instance; `handler` runs on each announcement. Returns the unregister function.
   */
  onReader(messageId: string, handler: () => void): () => void;
  /**
   * Tells the instance running `messageId` that a reader follows it from here, so the reply is not
   * aborted for want of readers (the resume grace). Sent when a remote reader attaches and then
   * every few seconds while it reads; unknown ids are a no-op.
   */
  announceReader(messageId: string): Promise<void>;
  /** Closes what the bus opened (its subscriber connection); not an injected Redis client. */
  close(): Promise<void>;
}
