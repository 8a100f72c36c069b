import { LocalStopHandlers } from './local-stop-handlers.js';
import type { ReplyBus } from './reply-bus.js';

/** One instance: every reply runs here, so a stop is a map lookup. */
export class MemoryReplyBus implements ReplyBus {
  readonly #local = new LocalStopHandlers();

  onStop(messageId: string, handler: () => void): () => void {
    return this.#local.add(messageId, handler);
  }

  async requestStop(messageId: string): Promise<void> {
    this.#local.stop(messageId);
  }

  async close(): Promise<void> {
    this.#local.clear();
  }
}
