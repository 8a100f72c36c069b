import { AsyncLocalStorage } from 'node:async_hooks';

/** What became of one HTTP request sent upstream: the status it was answered with, or the error that ended it first. */
export type UpstreamRequestOutcome = { status: number } | { error: unknown };

const recorder = new AsyncLocalStorage<(outcome: UpstreamRequestOutcome) => void>();

/**
 * Runs `call`, telling `record` about every HTTP request the upstream fetch sends within it. One
 * SDK call may send several: its own retries of a 429, a 5xx or a connection error happen inside
 * the call, out of the caller's sight, and each of those may have been billed. The context follows
 * the SDK's awaits and retry timers (AsyncLocalStorage), so concurrent replies are kept apart.
 */
export function traceUpstreamRequests<T>(record: (outcome: UpstreamRequestOutcome) => void, call: () => T): T {
  return recorder.run(record, call);
}

/**
 * The recorder of the trace the caller runs in; the upstream fetch takes it when it is called and
 * tells it the request's outcome (its answer's status, or the error that ended it; not an abort).
 * Taken up front, not looked up when the outcome comes: a keep-alive socket's events run in the
 * context of whichever request opened it.
 */
export function upstreamRequestRecorder(): ((outcome: UpstreamRequestOutcome) => void) | undefined {
  return recorder.getStore();
}
