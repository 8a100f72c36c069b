import { LocalHandlers } from './local-handlers.js';
import type { ReplyBus } from './reply-bus.js';

/** One instance: every reply runs here, so a message to it is a map lookup. */
export class MemoryReplyBus implements ReplyBus {
  readonly #local = new LocalHandlers();
  readonly #readers = new LocalHandlers();

  onStop(messageId: string, handler: () => void): () => void {
    return this.#local.add(messageId, handler);
  }

  async requestStop(messageId: string): Promise<void> {
    this.#local.run(messageId);
  }

  onReader(messageId: string, handler: () => void): () => void {
    return this.#readers.add(messageId, handler);
  }

  async announceReader(messageId: string): Promise<void> {
    this.#readers.run(messageId);
  }

  async close(): Promise<void> {
    this.#local.clear();
    this.#readers.clear();
  }
}
