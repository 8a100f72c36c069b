import { StoreUnavailableError } from './store-unavailable-error.js';

/**
 * A failed Redis command (a dropped connection, a command refused while ioredis reconnects) as the
 * error every route answers with 503 `upstream-unavailable`: `what` failed, then Redis's own words,
 * the original as `cause` for the log. One that already is a `StoreUnavailableError` (thrown inside
 * a guarded step, e.g. a pipeline's check) passes as it is.
 */
export function redisFailure(error: unknown, what = 'Redis command failed'): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  return new StoreUnavailableError(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** One Redis command awaited, its failure rejecting as `redisFailure`. */
export async function guardRedis<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    throw redisFailure(error);
  }
}
