import { describe, expect, it } from 'vitest';
import { describeType, judgeWholeAnswer } from './whole-completion.js';
import { expectLinear, repeat } from '../test/linear-time.js';

const completion = (choice: object, extra: object = {}): string =>
  JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, ...choice }], ...extra });

describe('judgeWholeAnswer', () => {
  it('takes a chat completion: its content (and refusal) as text, its finish reason, its usage as sent', () => {
    const usage = { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 };
    expect(judgeWholeAnswer(completion({ message: { role: 'assistant', content: 'Hi!' }, finish_reason: 'stop' }, { usage }))).toEqual({
      kind: 'completion',
      text: 'Hi!',
      finishReason: 'stop',
      usage,
    });
    expect(judgeWholeAnswer(completion({ message: { content: null, refusal: 'No.' }, finish_reason: 'stop' }))).toMatchObject({ text: 'No.' });
    // A compatible server may leave out `object`, or add fields of its own.
    expect(judgeWholeAnswer(JSON.stringify({ choices: [{ message: { content: 'ok' }, finish_reason: 'eos', extra: 1 }] }))).toMatchObject({
      kind: 'completion',
      text: 'ok',
      finishReason: 'eos',
    });
  });

  it('hands back OpenAI\'s error object', () => {
    expect(judgeWholeAnswer('{"error":{"message":"Overloaded","type":"server_error"}}')).toEqual({
      kind: 'error',
      error: { message: 'Overloaded', type: 'server_error' },
    });
    expect(judgeWholeAnswer('{"error":"model not found"}')).toEqual({ kind: 'error', error: { message: 'model not found' } });
  });

  it.each([
    ['', 'an empty body'],
    [' \r\n\t', 'an empty body'],
    ['<!doctype html><p>Bad gateway</p>', '33 characters that are not JSON'],
    ['{"choices": [', '13 characters that are not JSON'],
    ['[1,2]', 'JSON that is not an object'],
    ['null', 'JSON that is not an object'],
    ['"text"', 'JSON that is not an object'],
    ['{"object":"list","data":[]}', 'JSON that is not a chat completion (another object)'],
    ['{"choices":[]}', 'JSON that is not a chat completion (no choice)'],
    ['{"choices":{"0":{}}}', 'JSON that is not a chat completion (no choice)'],
    ['{"choices":[{"text":"legacy completion","finish_reason":"stop"}]}', 'JSON that is not a chat completion (no message)'],
    ['{"choices":[{"message":{"content":["part"]},"finish_reason":"stop"}]}', 'JSON that is not a chat completion (its content is not text)'],
    ['{"choices":[{"message":{"content":"hi","refusal":1},"finish_reason":"stop"}]}', 'JSON that is not a chat completion (its content is not text)'],
    ['{"choices":[{"message":{"content":"hi"},"finish_reason":null}]}', 'JSON that is not a chat completion (no finish reason)'],
    ['{"choices":[{"message":{"content":"hi"},"finish_reason":""}]}', 'JSON that is not a chat completion (no finish reason)'],
    ['{"error":null,"ok":true}', 'JSON that is not a chat completion (no choice)'],
  ])('refuses %j: %s, without quoting it', (body, why) => {
    expect(judgeWholeAnswer(body)).toEqual({ kind: 'other', why });
  });

  it('takes time linear in its input', () => {
    expectLinear('judgeWholeAnswer', (chars) => completion({ message: { content: repeat('word ', chars) }, finish_reason: 'stop' }), judgeWholeAnswer);
    expectLinear('judgeWholeAnswer (HTML)', (chars) => repeat('<p>not json</p>\n', chars), judgeWholeAnswer);
  });
});

describe('describeType', () => {
  it('shows the media type alone, lower case, and nothing of a header that is not one', () => {
    expect(describeType('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(describeType('text/html')).toBe('text/html');
    expect(describeType(null)).toBe('no Content-Type');
    expect(describeType('')).toBe('an unreadable Content-Type');
    expect(describeType('sk-secret-looking words here')).toBe('an unreadable Content-Type');
    expect(describeType(`text/${'x'.repeat(100)}`)).toBe('an unreadable Content-Type');
  });

  it('takes time linear in its input', () => {
    expectLinear('describeType', (chars) => `text/${repeat('a', chars)};${repeat('b', chars)}`, describeType);
  });
});
