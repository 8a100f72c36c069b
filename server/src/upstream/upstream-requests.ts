import type OpenAI from 'openai';

/** A call's `fetchOptions`, as the SDK types them. */
type FetchOptions = NonNullable<NonNullable<Parameters<OpenAI['chat']['completions']['create']>[1]>['fetchOptions']>;

/** What became of one HTTP request sent upstream: the status it was answered with, or the error that ended it first. */
export type UpstreamRequestOutcome = { status: number } | { error: unknown };

export type UpstreamRequestRecorder = (outcome: UpstreamRequestOutcome) => void;

/** The key the recorder travels under in `fetch`'s init; a symbol, so no real fetch option can clash. */
const RECORDER = Symbol('chatdrop.upstreamRequestRecorder');

/**
 * `fetchOptions` for one SDK call that tell `record` about every HTTP request the call sends. One
 * call may send several: the SDK's own retries of a 429, a 5xx or a connection error happen inside
 * it, out of the caller's sight, and each of those may have been billed. The SDK spreads a call's
 * `fetchOptions` into the init of each request it makes, retries included (openai-node's
 * `buildRequest` and `fetchWithTimeout`), so the recorder reaches the upstream fetch with every one.
 * (Not AsyncLocalStorage: on Node 20 it turns on promise hooks for the whole process.)
 */
export function recordingFetchOptions(record: UpstreamRequestRecorder): FetchOptions {
  return { [RECORDER]: record } as FetchOptions;
}

/** The recorder a request's init carries, if its call asked for one (`recordingFetchOptions`). */
export function upstreamRequestRecorder(init: RequestInit): UpstreamRequestRecorder | undefined {
  const record = (init as Record<symbol, unknown>)[RECORDER];
  return typeof record === 'function' ? (record as UpstreamRequestRecorder) : undefined;
}
