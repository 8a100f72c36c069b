/** Handlers of replies running on this instance, by message id (stop, reader news): both buses keep them. */
export class LocalHandlers {
  readonly #handlers = new Map<string, Set<() => void>>();

  add(messageId: string, handler: () => void): () => void {
    let set = this.#handlers.get(messageId);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(messageId, set);
    }
    set.add(handler);
    return () => {
      const current = this.#handlers.get(messageId);
      current?.delete(handler);
      if (current?.size === 0) this.#handlers.delete(messageId);
    };
  }

  has(messageId: string): boolean {
    return this.#handlers.has(messageId);
  }

  /** Runs every handler for the id; one that throws does not keep the others from running. */
  run(messageId: string): void {
    const set = this.#handlers.get(messageId);
    if (set === undefined) return;
    const errors: unknown[] = [];
    for (const handler of [...set]) {
      try {
        handler();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `A handler for ${messageId} failed`);
  }

  clear(): void {
    this.#handlers.clear();
  }
}
