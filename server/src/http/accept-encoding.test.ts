import { describe, expect, it } from 'vitest';
import { pickCoding } from './accept-encoding.js';

describe('pickCoding (Accept-Encoding)', () => {
  it('prefers brotli, then gzip, when both are accepted equally', () => {
    expect(pickCoding('gzip, deflate, br, zstd')).toBe('br');
    expect(pickCoding('gzip, deflate')).toBe('gzip');
    expect(pickCoding('deflate')).toBe('identity');
  });

  it('honours weights, and q=0 refuses a coding', () => {
    expect(pickCoding('br;q=0, gzip')).toBe('gzip');
    expect(pickCoding('gzip;q=0.5, br;q=0.4')).toBe('gzip');
    expect(pickCoding('gzip; q=1.0, br ; Q=0.9')).toBe('gzip');
    expect(pickCoding('br;q=0, gzip;q=0')).toBe('identity');
    expect(pickCoding('identity;q=1, br;q=0.5')).toBe('identity');
  });

  it('reads * for the codings the header does not name, and x-gzip as gzip', () => {
    expect(pickCoding('*')).toBe('br');
    expect(pickCoding('br;q=0, *;q=0.5')).toBe('gzip');
    expect(pickCoding('x-gzip')).toBe('gzip');
  });

  it('sends identity with no header, an empty one, or one that refuses everything', () => {
    expect(pickCoding(undefined)).toBe('identity');
    expect(pickCoding('')).toBe('identity');
    expect(pickCoding('identity;q=0, *;q=0')).toBe('identity');
  });

  it('ignores entries with a malformed weight instead of guessing', () => {
    expect(pickCoding('br;q=2, gzip')).toBe('gzip');
    expect(pickCoding('br;q=0.0001, gzip;q=abc')).toBe('identity');
    expect(pickCoding(' , ;q=1, gzip')).toBe('gzip');
  });

  it('takes time linear in the header length (1k, 10k, 100k characters)', () => {
    const times: number[] = [];
    for (const n of [1_000, 10_000, 100_000]) {
      const header = `${'a;q=0.5;'.repeat(n / 8)},${';;;=='.repeat(n / 5)}, gzip`;
      const started = performance.now();
      for (let i = 0; i < 5; i++) expect(pickCoding(header)).toBe('gzip');
      times.push(performance.now() - started);
    }
    // 100x the input may cost far more than 100x only if the parser is worse than linear; the
    // slack absorbs a loaded machine.
    expect(times[2]!).toBeLessThan(Math.max(times[0]! * 100 * 20, 500));
  });
});
