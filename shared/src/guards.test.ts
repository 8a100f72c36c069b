import { describe, expect, it } from 'vitest';
import { isApiErrorBody, isApiErrorCode } from './api-error.js';
import { isSource } from './source.js';

describe('the shared guards', () => {
  it('isApiErrorBody takes only a known code with a string message, whatever else comes', () => {
    expect(isApiErrorBody({ error: { code: 'busy', message: 'Busy.' } })).toBe(true);
    for (const value of [null, undefined, 5, 'busy', true, [], {}, { error: null }, { error: 'busy' }, { error: { code: 'busy' } },
      { error: { code: 'nope', message: 'x' } }, { error: { code: 'busy', message: 1 } }, { error: { code: ['busy'], message: 'x' } }])
      expect(isApiErrorBody(value), JSON.stringify(value)).toBe(false);
  });

  it('isApiErrorCode takes only the listed strings', () => {
    expect(isApiErrorCode('rate-limited')).toBe(true);
    for (const value of ['Rate-limited', '', null, undefined, 0, ['busy'], { toString: () => 'busy' }]) expect(isApiErrorCode(value)).toBe(false);
  });

  it('isSource takes a title and an http(s) URL, both strings of at most 2048 characters', () => {
    expect(isSource({ title: 'Help', url: 'https://example.com/help' })).toBe(true);
    expect(isSource({ title: '', url: 'HTTP://example.com' })).toBe(true);
    for (const value of [null, undefined, 'https://example.com', 7, {}, { title: 'a' }, { title: 1, url: 'https://a.b' },
      { title: 'a', url: 'ftp://a.b' }, { title: 'a', url: 'javascript:alert(1)' }, { title: 'a', url: { toString: () => 'https://a.b' } },
      { title: 'a'.repeat(2049), url: 'https://a.b' }, { title: 'a', url: `https://a.b/${'x'.repeat(2048)}` }])
      expect(isSource(value)).toBe(false);
  });
});
