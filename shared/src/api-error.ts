/** Every error code the API may put on the wire, in a JSON error body or an `error` event. */
export const API_ERROR_CODES = [
  'bad-request',
  'too-large',
  'unknown-model',
  'not-found',
  'rate-limited',
  'busy',
  'budget-exceeded',
  'upstream-unavailable',
  'upstream-rejected',
  'timeout',
  'internal',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The JSON body of every error answered before a stream starts. */
export interface ApiErrorBody {
  error: {
    code: ApiErrorCode;
    /** Text fit to show a visitor: never upstream detail, a stack trace or a key. */
    message: string;
  };
}

export function isApiErrorCode(value: unknown): value is ApiErrorCode {
  return typeof value === 'string' && (API_ERROR_CODES as readonly string[]).includes(value);
}

export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    isApiErrorCode((error as { code?: unknown }).code) &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}
