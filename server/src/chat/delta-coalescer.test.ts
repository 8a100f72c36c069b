import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeltaCoalescer } from './delta-coalescer.js';

describe('DeltaCoalescer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function record(windowMs = 25): { sent: string[]; deltas: DeltaCoalescer } {
    const sent: string[] = [];
    return { sent, deltas: new DeltaCoalescer(windowMs, (text) => sent.push(text)) };
  }

  it('sends the first text at once', () => {
    const { sent, deltas } = record();
    deltas.push('Hello');
    expect(sent).toEqual(['Hello']);
  });

  it('holds text arriving within the window and sends it together when the window ends', () => {
    const { sent, deltas } = record();
    deltas.push('A');
    vi.advanceTimersByTime(5);
    deltas.push('B');
    vi.advanceTimersByTime(5);
    deltas.push('C');
    expect(sent).toEqual(['A']);
    vi.advanceTimersByTime(25);
    expect(sent).toEqual(['A', 'BC']);
  });

  it('never holds text longer than the window', () => {
    const sent: { text: string; at: number }[] = [];
    const deltas = new DeltaCoalescer(25, (text) => sent.push({ text, at: performance.now() }));
    // A one-character chunk every 2 ms for 200 ms, as a fast model sends them.
    const pushedAt: number[] = [];
    for (let i = 0; i <= 100; i++) {
      pushedAt.push(performance.now());
      deltas.push(String(i % 10));
      vi.advanceTimersByTime(2);
    }
    vi.advanceTimersByTime(25);
    expect(sent.map((s) => s.text).join('')).toBe(Array.from({ length: 101 }, (_, i) => String(i % 10)).join(''));
    const sentAt = sent.flatMap(({ text, at }) => [...text].map(() => at));
    sentAt.forEach((at, i) => expect(at - pushedAt[i]!).toBeLessThanOrEqual(25));
    // About one delta per window instead of 101.
    expect(sent.length).toBeLessThanOrEqual(12);
    expect(sent.length).toBeGreaterThanOrEqual(7);
  });

  it('sends text at once after a quiet window, so a slow model streams as before', () => {
    const { sent, deltas } = record();
    for (const word of ['one ', 'two ', 'three']) {
      deltas.push(word);
      expect(sent.at(-1)).toBe(word);
      vi.advanceTimersByTime(100);
    }
    expect(sent).toEqual(['one ', 'two ', 'three']);
  });

  it('flush sends what is pending at once, in order, and the timer then sends nothing more', () => {
    const { sent, deltas } = record();
    deltas.push('a');
    deltas.push('b');
    deltas.push('c');
    deltas.flush();
    expect(sent).toEqual(['a', 'bc']);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual(['a', 'bc']);
  });

  it('holds again after a flush, and the window restarts from the flush', () => {
    const { sent, deltas } = record();
    deltas.push('a');
    deltas.push('b');
    deltas.flush();
    vi.advanceTimersByTime(10);
    deltas.push('c');
    expect(sent).toEqual(['a', 'b']);
    vi.advanceTimersByTime(15);
    expect(sent).toEqual(['a', 'b']);
    vi.advanceTimersByTime(10);
    expect(sent).toEqual(['a', 'b', 'c']);
  });

  it('close sends what is pending and stops the timer', () => {
    const { sent, deltas } = record();
    deltas.push('x');
    deltas.push('y');
    deltas.close();
    expect(sent).toEqual(['x', 'y']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('with a window of 0 sends every text as it comes', () => {
    const { sent, deltas } = record(0);
    deltas.push('a');
    deltas.push('b');
    expect(sent).toEqual(['a', 'b']);
  });
});
