import type { AbortReason, ReplyRun } from './reply-run.js';

/**
 * The replies running on this instance, by assistant message id: what shutdown drains and what a
 * Stop or a deletion reaches here. A Stop that lands on another instance reaches the one running
 * the reply through the reply bus (`replies/reply-bus/`), whose handler aborts the run registered
 * here; this registry never needs to know about other instances.
 */
export class ReplyRegistry {
  readonly #runs = new Map<string, ReplyRun>();

  /** Registers a run until it ends. */
  add(run: ReplyRun): void {
    this.#runs.set(run.messageId, run);
    void run.done.then(() => this.#runs.delete(run.messageId));
  }

  get(messageId: string): ReplyRun | undefined {
    return this.#runs.get(messageId);
  }

  get size(): number {
    return this.#runs.size;
  }

  /** Aborts one reply; false when nothing by that id runs here. */
  abort(messageId: string, reason: AbortReason): boolean {
    const run = this.#runs.get(messageId);
    run?.abort(reason);
    return run !== undefined;
  }

  /** Aborts every reply of a conversation (it is being deleted). */
  abortConversation(conversationId: string, reason: AbortReason): void {
    for (const run of this.#runs.values()) if (run.conversationId === conversationId) run.abort(reason);
  }

  /**
   * Waits for running replies to end, up to `deadlineMs`; then aborts the rest and waits for those.
   * Loops until none is left, so a reply that started while the server was closing (its request
   * was already past the listener) is waited for or aborted too, not cut off by `process.exit`.
   */
  async drain(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (this.#runs.size > 0) {
      const runs = [...this.#runs.values()];
      const left = deadline - Date.now();
      if (left <= 0) {
        for (const run of runs) run.abort('shutdown');
        await Promise.all(runs.map((run) => run.done));
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(runs.map((run) => run.done)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
  }
}
