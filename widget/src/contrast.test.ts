import { describe, expect, it } from 'vitest';
import { contrastRatio, parseHex, textColorOn } from './contrast.js';

const rgb = (hex: string) => parseHex(hex)!;

describe('accent text colour', () => {
  it('puts white on dark accents and black on light ones', () => {
    expect(textColorOn(rgb('#0f766e'))).toBe('#fff');
    expect(textColorOn(rgb('#1e3a8a'))).toBe('#fff');
    expect(textColorOn(rgb('#fde047'))).toBe('#000');
    expect(textColorOn(rgb('#fff'))).toBe('#000');
  });

  it('reaches WCAG AA 4.5:1 for every accent colour', () => {
    for (let r = 0; r < 256; r += 15)
      for (let g = 0; g < 256; g += 15)
        for (let b = 0; b < 256; b += 15) {
          const text = textColorOn([r, g, b]);
          expect(contrastRatio([r, g, b], rgb(text))).toBeGreaterThanOrEqual(4.5);
        }
  });

  it('computes the WCAG ratio (black on white is 21:1)', () => {
    expect(contrastRatio([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrastRatio(rgb('#777'), rgb('#fff'))).toBeCloseTo(4.48, 2);
  });

  it('accepts only #rgb and #rrggbb', () => {
    expect(parseHex('#abc')).toEqual([170, 187, 204]);
    expect(parseHex('0f766e')).toEqual([15, 118, 110]);
    expect(parseHex('red')).toBeUndefined();
    expect(parseHex('#12345')).toBeUndefined();
    expect(parseHex('url(javascript:1)')).toBeUndefined();
  });
});
