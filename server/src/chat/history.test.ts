import type { ChatMessage } from '@chatdrop/shared';
import fc from 'fast-check';
import { encodeChat } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { buildUpstreamMessages, contentTokens, type UpstreamMessage } from './history.js';

// The independent measure: gpt-tokenizer's own chat encoding for an o200k model, which counts
// the per-message wrapping and the reply priming itself.
function chatTokens(messages: readonly UpstreamMessage[]): number {
  return encodeChat(messages, 'gpt-4o').length;
}

let seq = 0;
function msg(role: ChatMessage['role'], content: string, status: ChatMessage['status'] = 'complete'): ChatMessage {
  seq += 1;
  return { id: `m${seq}`, role, content, status, createdAt: new Date(0).toISOString() };
}

function turn(question: string, answer: string): ChatMessage[] {
  return [msg('user', question), msg('assistant', answer)];
}

const SYSTEM = 'You are the help desk of Example Co. Answer briefly.';
const history = [
  ...turn('What are your opening hours?', 'We are open 9 to 5, Monday to Friday.'),
  ...turn('Do you ship to Norway?', 'Yes, within five working days.'),
  ...turn('How much is shipping?', 'Shipping to Norway costs 12 euros.'),
];

function ok(result: ReturnType<typeof buildUpstreamMessages>) {
  if ('error' in result) throw new Error(`expected messages, got ${result.error}`);
  return result;
}

function contents(messages: readonly UpstreamMessage[]): string[] {
  return messages.map((m) => `${m.role}: ${m.content}`);
}

describe('buildUpstreamMessages', () => {
  it('sends the system prompt, the whole history and the new message when they fit', () => {
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history, message: 'And to Sweden?', budgetTokens: 8000 }));
    expect(contents(result.messages)).toEqual([
      `system: ${SYSTEM}`,
      ...history.map((m) => `${m.role}: ${m.content}`),
      'user: And to Sweden?',
    ]);
    expect(result.inputTokens).toBe(chatTokens(result.messages));
  });

  it('respects the budget exactly as the tokenizer counts it', () => {
    const all = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history, message: 'And to Sweden?', budgetTokens: 8000 }));
    const exact = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history, message: 'And to Sweden?', budgetTokens: all.inputTokens }));
    expect(exact.messages).toEqual(all.messages);

    // One token less and the oldest turn has to go.
    const under = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history, message: 'And to Sweden?', budgetTokens: all.inputTokens - 1 }));
    expect(contents(under.messages)).toEqual([
      `system: ${SYSTEM}`,
      ...history.slice(2).map((m) => `${m.role}: ${m.content}`),
      'user: And to Sweden?',
    ]);
    expect(under.inputTokens).toBe(chatTokens(under.messages));
    expect(under.inputTokens).toBeLessThanOrEqual(all.inputTokens - 1);
  });

  it('drops whole turns from the oldest end of a long conversation', () => {
    const long = Array.from({ length: 500 }, (_, n) => turn(`Question number ${n}?`, `Answer number ${n}.`)).flat();
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: long, message: 'Last one?', budgetTokens: 300 }));
    expect(result.inputTokens).toBe(chatTokens(result.messages));
    expect(result.inputTokens).toBeLessThanOrEqual(300);

    const middle = result.messages.slice(1, -1);
    expect(middle.length).toBeGreaterThan(0);
    expect(middle.length % 2).toBe(0);
    // The newest turns, in order, ending with the last one answered.
    const kept = middle.length / 2;
    expect(contents(middle)).toEqual(long.slice(long.length - middle.length).map((m) => `${m.role}: ${m.content}`));
    // And one more turn would not have fitted.
    const withOneMore = [result.messages[0]!, ...long.slice(long.length - 2 * (kept + 1)), result.messages.at(-1)!];
    expect(chatTokens(withOneMore.map((m) => ({ role: m.role, content: m.content })))).toBeGreaterThan(300);
  });

  it('stops at the first turn that does not fit instead of skipping to smaller older ones', () => {
    const gappy = [
      ...turn('Tiny?', 'Yes.'),
      ...turn('Tell me everything.', 'word '.repeat(400)),
      ...turn('Thanks?', 'You are welcome.'),
    ];
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: gappy, message: 'Bye', budgetTokens: 200 }));
    expect(contents(result.messages)).toEqual([
      `system: ${SYSTEM}`,
      'user: Thanks?',
      'assistant: You are welcome.',
      'user: Bye',
    ]);
  });

  it('skips a user turn whose answer is missing or empty', () => {
    const broken = [
      msg('user', 'Hello?'),
      msg('user', 'Anyone there?'),
      ...turn('Are you open on Sunday?', 'No, we are closed on Sundays.'),
      msg('user', 'What about Saturday?'),
      msg('assistant', '', 'incomplete'),
    ];
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: broken, message: 'Hello again', budgetTokens: 8000 }));
    expect(contents(result.messages)).toEqual([
      `system: ${SYSTEM}`,
      'user: Are you open on Sunday?',
      'assistant: No, we are closed on Sundays.',
      'user: Hello again',
    ]);
    expect(result.inputTokens).toBe(chatTokens(result.messages));
  });

  it('does not send the new message twice when it is already stored at the end of the history', () => {
    const stored = [...history, msg('user', 'And to Sweden?')];
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: stored, message: 'And to Sweden?', budgetTokens: 8000 }));
    expect(result.messages.filter((m) => m.content === 'And to Sweden?')).toHaveLength(1);
    expect(result.messages.at(-1)).toEqual({ role: 'user', content: 'And to Sweden?' });
  });

  it('sends an incomplete reply as it is', () => {
    const cut = [msg('user', 'List the steps.'), msg('assistant', 'First, open the', 'incomplete')];
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: cut, message: 'Go on', budgetTokens: 8000 }));
    expect(contents(result.messages)).toEqual([
      `system: ${SYSTEM}`,
      'user: List the steps.',
      'assistant: First, open the',
      'user: Go on',
    ]);
  });

  it('answers too-large when the system prompt and the new message alone exceed the budget', () => {
    const alone = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: [], message: 'Hi there', budgetTokens: 8000 }));
    expect(alone.inputTokens).toBe(chatTokens(alone.messages));
    // Exactly at the budget still goes, without any history.
    const atBudget = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history, message: 'Hi there', budgetTokens: alone.inputTokens }));
    expect(contents(atBudget.messages)).toEqual([`system: ${SYSTEM}`, 'user: Hi there']);
    expect(buildUpstreamMessages({ systemPrompt: SYSTEM, history, message: 'Hi there', budgetTokens: alone.inputTokens - 1 })).toEqual({
      error: 'too-large',
    });
    expect(buildUpstreamMessages({ systemPrompt: SYSTEM, history: [], message: 'long '.repeat(9000), budgetTokens: 8000 })).toEqual({
      error: 'too-large',
    });
  });

  it('counts special-token text typed by a visitor as plain text instead of throwing', () => {
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: [], message: 'what is <|endoftext|> or <|im_end|>?', budgetTokens: 8000 }));
    expect(result.messages.at(-1)?.content).toBe('what is <|endoftext|> or <|im_end|>?');
    expect(result.inputTokens).toBeGreaterThan(chatTokens([{ role: 'system', content: SYSTEM }, { role: 'user', content: 'what is or ?' }]));
  });

  it('takes a stored message\'s token count instead of counting it again, and hands back the counts it made', () => {
    const counted = history.map((m, i) => (i % 2 === 0 ? { ...m, tokens: contentTokens(m.content) } : m));
    const plain = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history, message: 'And to Sweden?', budgetTokens: 8000 }));
    const withCounts = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: counted, message: 'And to Sweden?', budgetTokens: 8000 }));
    expect(withCounts.messages).toEqual(plain.messages);
    expect(withCounts.inputTokens).toBe(plain.inputTokens);
    // Counted here, to be kept: exactly the messages that came without a count.
    expect(withCounts.counted).toEqual(
      history.filter((_, i) => i % 2 === 1).map((m) => ({ messageId: m.id, tokens: contentTokens(m.content) })).reverse(),
    );
    expect(plain.counted).toHaveLength(history.length);
    // The stored count is what is used (here a false one, to show it): the oldest turn no longer fits.
    const inflated = history.map((m, i) => (i === 1 ? { ...m, tokens: 10_000 } : m));
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: inflated, message: 'And to Sweden?', budgetTokens: 8000 }));
    expect(contents(result.messages)).toEqual([`system: ${SYSTEM}`, ...history.slice(2).map((m) => `${m.role}: ${m.content}`), 'user: And to Sweden?']);
  });

  it('hands back no count for an incomplete reply, whose text may still change', () => {
    const cut = [msg('user', 'List the steps.'), msg('assistant', 'First, open the', 'incomplete')];
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history: cut, message: 'Go on', budgetTokens: 8000 }));
    expect(result.counted.map((c) => c.messageId)).toEqual([cut[0]!.id]);
  });

  it('gives the new message\'s own count, to be stored with it', () => {
    const result = ok(buildUpstreamMessages({ systemPrompt: SYSTEM, history, message: 'And to Sweden? 🇸🇪', budgetTokens: 8000 }));
    expect(result.messageTokens).toBe(contentTokens('And to Sweden? 🇸🇪'));
    expect(result.messageTokens).toBe(chatTokens([{ role: 'user', content: 'And to Sweden? 🇸🇪' }]) - chatTokens([{ role: 'user', content: '' }]));
  });

  it('always keeps the most recent whole turns that fit, for any history and budget', () => {
    const text = fc.string({ maxLength: 60 });
    const entry = fc.record({
      role: fc.constantFrom<ChatMessage['role']>('user', 'assistant'),
      content: fc.oneof(text, fc.constant('')),
      status: fc.constantFrom<ChatMessage['status']>('complete', 'incomplete'),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 30 }), text, fc.integer({ min: 0, max: 600 }), (entries, message, budget) => {
        const stored = entries.map((e) => msg(e.role, e.content, e.status));
        const result = buildUpstreamMessages({ systemPrompt: SYSTEM, history: stored, message, budgetTokens: budget });
        const floor = chatTokens([{ role: 'system', content: SYSTEM }, { role: 'user', content: message }]);
        if ('error' in result) {
          expect(floor).toBeGreaterThan(budget);
          return;
        }
        expect(result.inputTokens).toBe(chatTokens(result.messages));
        expect(result.inputTokens).toBeLessThanOrEqual(budget);
        expect(result.messages[0]).toEqual({ role: 'system', content: SYSTEM });
        expect(result.messages.at(-1)).toEqual({ role: 'user', content: message });

        // The answered turns of the history, in order; what is sent must be the newest few of them.
        const answered: UpstreamMessage[][] = [];
        for (let i = 1; i < stored.length; i++) {
          const q = stored[i - 1]!;
          const a = stored[i]!;
          if (q.role === 'user' && a.role === 'assistant' && a.content !== '') {
            answered.push([{ role: 'user', content: q.content }, { role: 'assistant', content: a.content }]);
            i++;
          }
        }
        const middle = result.messages.slice(1, -1);
        const kept = middle.length / 2;
        expect(middle).toEqual(answered.slice(answered.length - kept).flat());
        if (kept < answered.length) {
          const oneMore = [result.messages[0]!, ...answered[answered.length - kept - 1]!, ...middle, result.messages.at(-1)!];
          expect(chatTokens(oneMore)).toBeGreaterThan(budget);
        }
      }),
      { numRuns: 300 },
    );
  });
});
