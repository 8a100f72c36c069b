import { describe, expect, it } from 'vitest';
import type { StoredMessage } from './conversation-store.js';
import { publicMessage } from './public-message.js';
import { transcriptMessage } from './transcript-message.js';

const reply: StoredMessage = {
  id: 'm1',
  role: 'assistant',
  content: 'Sunday 10 to 4.',
  status: 'complete',
  createdAt: '2030-01-01T00:00:01.000Z',
  sources: [{ title: 'Opening hours', url: 'https://shop.example/hours' }],
  tokens: 7,
};
const question: StoredMessage = { id: 'm0', role: 'user', content: 'Open on Sunday?', status: 'complete', createdAt: '2030-01-01T00:00:00.000Z', tokens: 4 };
const meta = { model: 'fast', upstreamModel: 'gpt-x', finishReason: 'stop', durationMs: 9, inputTokens: 12, outputTokens: 7 } as const;

describe('publicMessage', () => {
  it("answers the contract's fields in the contract's order, and leaves the token count behind", () => {
    expect(JSON.stringify(publicMessage(reply))).toBe(
      '{"id":"m1","role":"assistant","content":"Sunday 10 to 4.","createdAt":"2030-01-01T00:00:01.000Z","status":"complete",' +
        '"sources":[{"title":"Opening hours","url":"https://shop.example/hours"}]}',
    );
  });

  it('has no sources key for a message without sources, and keeps an empty list (knowledge on, nothing relevant)', () => {
    expect(Object.keys(publicMessage(question))).toEqual(['id', 'role', 'content', 'createdAt', 'status']);
    expect(publicMessage({ ...reply, sources: [] }).sources).toEqual([]);
  });

  it('drops whatever else a backend keeps with a message', () => {
    const extra = { ...question, page: 'https://shop.example/', meta: { secret: true } } as StoredMessage;
    expect(Object.keys(publicMessage(extra))).toEqual(['id', 'role', 'content', 'createdAt', 'status']);
  });
});

describe('transcriptMessage', () => {
  it("adds the rating and the reply's metadata to the visitor's fields, in the inbox's order", () => {
    expect(JSON.stringify(transcriptMessage(reply, 'up', meta))).toBe(
      '{"id":"m1","role":"assistant","content":"Sunday 10 to 4.","status":"complete","createdAt":"2030-01-01T00:00:01.000Z",' +
        '"sources":[{"title":"Opening hours","url":"https://shop.example/hours"}],"rating":"up",' +
        '"reply":{"model":"fast","upstreamModel":"gpt-x","finishReason":"stop","durationMs":9,"inputTokens":12,"outputTokens":7}}',
    );
  });

  it('has neither key when a message has no rating or metadata', () => {
    expect(transcriptMessage(question, undefined, undefined)).toEqual({
      id: 'm0', role: 'user', content: 'Open on Sunday?', status: 'complete', createdAt: '2030-01-01T00:00:00.000Z',
    });
    expect(Object.keys(transcriptMessage(question, undefined, undefined))).toEqual(['id', 'role', 'content', 'status', 'createdAt']);
  });
});
