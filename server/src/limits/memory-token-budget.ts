import { checkTokens, type TokenBudget } from './token-budget.js';
import { secondsUntilNextUtcDay, utcDay } from './utc-day.js';

export interface MemoryTokenBudgetOptions {
  /** Epoch milliseconds; injected by tests to cross midnight. */
  now?: () => number;
}

/** One instance: today's count, started afresh when the UTC day changes. */
export class MemoryTokenBudget implements TokenBudget {
  readonly #now: () => number;
  #day = '';
  #used = 0;

  constructor(options: MemoryTokenBudgetOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async used(): Promise<number> {
    this.#rollOver();
    return this.#used;
  }

  async add(tokens: number): Promise<void> {
    checkTokens(tokens);
    this.#rollOver();
    this.#used += tokens;
  }

  async exceeded(limit: number): Promise<boolean> {
    return (await this.used()) >= limit;
  }

  secondsUntilReset(): number {
    return secondsUntilNextUtcDay(this.#now());
  }

  #rollOver(): void {
    const today = utcDay(this.#now());
    if (today !== this.#day) {
      this.#day = today;
      this.#used = 0;
    }
  }
}
