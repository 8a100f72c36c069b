import { describe, expect, it } from 'vitest';
import { searchWords } from '../store/inbox-query.js';
import { csvCell } from './csv-cell.js';
import { parseListQuery } from './inbox-query-schema.js';
import { sessionCookie } from './session-cookie.js';

/**
 * What parses text from outside (a search typed into the inbox, a Cookie header, a visitor's
 * message going into a CSV cell, a query string) runs in linear time: the same work at 1k, 10k
 * and 100k characters, checked by the result and by a loose bound on the growth (no pattern here
 * backtracks; a quadratic one would take seconds at 100k).
 */
const SIZES = [1_000, 10_000, 100_000];

function growth(run: (size: number) => void): number {
  const time = (size: number) => {
    const started = performance.now();
    for (let i = 0; i < 5; i++) run(size);
    return performance.now() - started;
  };
  time(1_000); // warm up
  const small = time(SIZES[0]!);
  const large = time(SIZES[2]!);
  return large / Math.max(small, 0.5);
}

describe('untrusted text in the inbox', () => {
  it('splits a search into at most 16 words, whatever its length', () => {
    for (const size of SIZES) {
      expect(searchWords('é'.repeat(size))).toEqual(['e'.repeat(64)]);
      expect(searchWords('ab '.repeat(size / 3)).length).toBe(1);
      expect(searchWords(Array.from({ length: size / 10 }, (_, i) => `w${i}`).join(' '))).toHaveLength(16);
      expect(searchWords('"*^:(-'.repeat(size / 6))).toEqual([]);
    }
    expect(growth((size) => searchWords(`${'a1 '.repeat(size / 3)}é`))).toBeLessThan(1_000);
  });

  it('reads a Cookie header of any length without backtracking', () => {
    const cookie = sessionCookie(false);
    const id = 'A'.repeat(43);
    for (const size of SIZES) {
      expect(cookie.read(`${'x=y; '.repeat(size / 5)}chatdrop-inbox=${id}`)).toBe(id);
      expect(cookie.read(`chatdrop-inbox=${'A'.repeat(size)}`)).toBeUndefined();
      expect(cookie.read(';'.repeat(size))).toBeUndefined();
    }
    expect(growth((size) => cookie.read(`${'a=b;'.repeat(size / 4)}`))).toBeLessThan(1_000);
  });

  it('puts any text into one CSV cell', () => {
    for (const size of SIZES) {
      expect(csvCell('"'.repeat(size))).toHaveLength(2 * size + 2);
      expect(csvCell(`=${'a'.repeat(size)}`).startsWith(`"'=`)).toBe(true);
    }
    expect(growth((size) => csvCell('a"'.repeat(size / 2)))).toBeLessThan(1_000);
  });

  it('refuses query values past their limits with a 400, not a slow parse', () => {
    for (const size of SIZES) {
      const big = '2030-01-01'.padEnd(size, '0');
      expect(() => parseListQuery({ from: big })).toThrow(/"from" is not valid/);
      expect(() => parseListQuery({ cursor: '1'.repeat(size) })).toThrow(/"cursor" is not valid/);
      expect(() => parseListQuery({ q: 'a'.repeat(size) })).toThrow(/"q" is not valid/);
    }
    const refused = (query: Record<string, string>) => {
      try {
        parseListQuery(query);
      } catch {
        return;
      }
      throw new Error('accepted');
    };
    expect(growth((size) => refused({ to: `2030-01-01T${'0'.repeat(size)}` }))).toBeLessThan(1_000);
  });
});
