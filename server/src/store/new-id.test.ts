import { describe, expect, it } from 'vitest';
import { isWellFormedId, newId } from './new-id.js';

describe('newId', () => {
  it('mints URL-safe ids carrying at least 128 random bits', () => {
    const id = newId();
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    // base64url: 6 bits per character.
    expect(id.length * 6).toBeGreaterThanOrEqual(128);
    expect(encodeURIComponent(id)).toBe(id);
  });

  it('never repeats in 100,000 ids and uses the whole alphabet', () => {
    const ids = Array.from({ length: 100_000 }, newId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.join('')).size).toBe(64);
  });
});

describe('isWellFormedId', () => {
  it('accepts what newId mints and rejects anything else', () => {
    for (let n = 0; n < 1_000; n++) expect(isWellFormedId(newId())).toBe(true);
    for (const bad of ['', 'short', `${newId()}x`, newId().slice(1), 'A'.repeat(23) + '=', 'A'.repeat(23) + '/', 'A'.repeat(23) + '\n', ' '.repeat(24)]) {
      expect(isWellFormedId(bad)).toBe(false);
    }
  });
});
