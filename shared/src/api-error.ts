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
  // includes() compares with SameValueZero: anything that is not one of these strings is false.
  return (API_ERROR_CODES as readonly unknown[]).includes(value);
}

export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  // Optional chaining reads nothing from null or undefined, and a primitive has no such field.
  const error = (value as Partial<ApiErrorBody> | null | undefined)?.error;
  return isApiErrorCode(error?.code) && typeof error!.message === 'string';
}
