/**
 * What an answer to a streaming request that carried no event at all is (`readEventStream` hands
 * back its whole text, at most a MiB). Some OpenAI-compatible servers ignore `stream: true` and
 * answer one `chat.completion` as `application/json`: that is a reply like a streamed one.
 * Everything else is checked, not trusted: a body carrying OpenAI's `error` object, and then
 * anything that is not a completion (an empty body, an HTML page, other JSON), with a reason
 * that says what came without quoting it (the log gets no upstream text we have not understood).
 */
export type WholeAnswer =
  | { kind: 'completion'; text: string; finishReason: string; usage: unknown }
  | { kind: 'error'; error: object }
  | { kind: 'other'; why: string };

export function judgeWholeAnswer(body: string): WholeAnswer {
  const other = (why: string): WholeAnswer => ({ kind: 'other', why });
  if (body.trim() === '') return other('an empty body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return other(`${body.length} characters that are not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return other('JSON that is not an object');
  const answer = parsed as Record<string, unknown>;
  if (typeof answer.error === 'object' && answer.error !== null) return { kind: 'error', error: answer.error };
  // Some compatible servers put the message itself there.
  if (typeof answer.error === 'string' && answer.error !== '') return { kind: 'error', error: { message: answer.error } };
  const notCompletion = (what: string): WholeAnswer => other(`JSON that is not a chat completion (${what})`);
  if (answer.object !== undefined && answer.object !== 'chat.completion') return notCompletion('another object');
  const choice: unknown = Array.isArray(answer.choices) ? answer.choices[0] : undefined;
  if (typeof choice !== 'object' || choice === null) return notCompletion('no choice');
  const { message, finish_reason: finishReason } = choice as Record<string, unknown>;
  if (typeof message !== 'object' || message === null) return notCompletion('no message');
  const { content, refusal } = message as Record<string, unknown>;
  if (!isOptionalText(content) || !isOptionalText(refusal)) return notCompletion('its content is not text');
  // A whole completion has ended, and says why: without a reason it is not one we can vouch for.
  if (typeof finishReason !== 'string' || finishReason === '') return notCompletion('no finish reason');
  // As in a stream: a refusal is text the visitor should see (the model says why it will not answer).
  return { kind: 'completion', text: (content ?? '') + (refusal ?? ''), finishReason, usage: answer.usage };
}

function isOptionalText(value: unknown): value is string | null | undefined {
  return value === undefined || value === null || typeof value === 'string';
}

/**
 * An upstream's `Content-Type` as a log may show it: the media type alone, when it looks like one
 * (a header is the server's text, of any length).
 */
export function describeType(contentType: string | null): string {
  if (contentType === null) return 'no Content-Type';
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(media) ? media : 'an unreadable Content-Type';
}
