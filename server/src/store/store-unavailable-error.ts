/**
 * The store could not be reached (Redis down, connection lost). Routes answer the contract's
 * `upstream-unavailable` with 503 and log `cause`; the store reconnects by itself (issue 6).
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
