import { describe, expect, it } from 'vitest';
import { work } from './markdown/work.js';
import { createRenderer } from './markdown/markdown.js';
import { plainText, spokenText } from './plain-text.js';

describe('plainText', () => {
  it('keeps the words of a markdown reply and drops the syntax a screen reader would spell out', async () => {
    const md = [
      '## Reset your **password**',
      '',
      '1. Open [Settings](https://example.com/settings).',
      '- Choose `Reset`, then *confirm*.',
      '> Takes a minute.',
      '',
      '| Plan | Price |',
      '|---|:---:|',
      '| Pro | $9 |',
      '```',
      'npm i',
      '```',
      'Fish &amp; chips, ![a logo](https://x.test/l.png) and [a friend][f].',
      '',
      '[f]: https://example.com/friend',
    ].join('\n');
    expect(await plainText(md)).toBe(
      ['Reset your password', 'Open Settings.', 'Choose Reset, then confirm.', 'Takes a minute.', 'Plan Price', 'Pro $9', 'npm i', 'Fish & chips, a logo and a friend.'].join('\n'),
    );
  });

  it('leaves plain text, snake_case, C# and prices alone', async () => {
    expect(await plainText('Use my_setting in C# for $5 - or 3-4 days.')).toBe('Use my_setting in C# for $5 - or 3-4 days.');
    expect(await plainText('3.5 GB free\n-5 degrees\n#hashtag')).toBe('3.5 GB free\n-5 degrees\n#hashtag');
  });

  it('reads 100,000 spaces then a letter in linear time (steps counted, not timed)', () => {
    const steps = (n: number) => {
      work.steps = 0;
      expect(spokenText(createRenderer()(' '.repeat(n) + 'x'))).toBe('x');
      return work.steps;
    };
    const small = steps(10_000);
    const large = steps(100_000);
    expect(large).toBeLessThanOrEqual(11 * small);
  });
});
