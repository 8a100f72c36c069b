/**
 * A resume asked for events the buffer no longer holds (trimmed by the cap). Replaying what is
 * left would show the visitor a reply with a hole in it, so the reader fails instead; the route
 * ends the resumed response and the widget falls back to reloading the conversation.
 */
export class StreamGapError extends Error {
  override readonly name = 'StreamGapError';

  constructor(
    readonly messageId: string,
    readonly expectedId: number,
    readonly foundId: number,
  ) {
    super(`Stream ${messageId} has no event ${expectedId} any more (next held is ${foundId})`);
  }
}
