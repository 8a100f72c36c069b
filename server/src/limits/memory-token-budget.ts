import { checkTokens, type BudgetReservation, type TokenBudget } from './token-budget.js';
import { secondsUntilNextUtcDay, utcDay } from './utc-day.js';

export interface MemoryTokenBudgetOptions {
  /** Epoch milliseconds; injected by tests to cross midnight. */
  now?: () => number;
}

/**
 * One instance: today's spent and held tokens, started afresh when the UTC day changes. Each call
 * checks and updates without an `await` in between, so concurrent requests cannot both slip
 * through the same gap.
 */
export class MemoryTokenBudget implements TokenBudget {
  readonly #now: () => number;
  #day = '';
  #used = 0;
  #held = 0;

  constructor(options: MemoryTokenBudgetOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async used(): Promise<number> {
    this.#rollOver();
    return this.#used;
  }

  async reserve(request: { inputTokens: number; outputTokens: number }, limit: number): Promise<BudgetReservation | undefined> {
    checkTokens(request.inputTokens);
    checkTokens(request.outputTokens);
    this.#rollOver();
    if (this.#used + this.#held + request.inputTokens > limit) return undefined;
    const tokens = request.inputTokens + request.outputTokens;
    this.#held += tokens;
    return { day: this.#day, tokens, settled: false };
  }

  async settle(reservation: BudgetReservation, spentTokens: number): Promise<void> {
    checkTokens(spentTokens);
    if (reservation.settled) return;
    reservation.settled = true;
    this.#rollOver();
    // A reservation from a day that has ended: that day's count is gone, and nothing reads it.
    if (reservation.day !== this.#day) return;
    this.#held -= reservation.tokens;
    this.#used += spentTokens;
  }

  async extend(reservation: BudgetReservation, tokens: number): Promise<void> {
    checkTokens(tokens);
    if (reservation.settled) return;
    this.#rollOver();
    reservation.tokens += tokens;
    if (reservation.day === this.#day) this.#held += tokens;
  }

  secondsUntilReset(): number {
    return secondsUntilNextUtcDay(this.#now());
  }

  #rollOver(): void {
    const today = utcDay(this.#now());
    if (today !== this.#day) {
      this.#day = today;
      this.#used = 0;
      this.#held = 0;
    }
  }
}
