import { describe, expect, it } from 'vitest';
import { plainText } from './plain-text.js';

describe('plainText', () => {
  it('keeps the words of a markdown reply and drops the syntax a screen reader would spell out', () => {
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
    ].join('\n');
    expect(plainText(md)).toBe(
      ['Reset your password', '', 'Open Settings.', 'Choose Reset, then confirm.', 'Takes a minute.', '', ' Plan  Price ', '', ' Pro  $9 ', '', 'npm i', ''].join('\n'),
    );
  });

  it('leaves plain text, snake_case, C# and prices alone', () => {
    expect(plainText('Use my_setting in C# for $5 - or 3-4 days.')).toBe('Use my_setting in C# for $5 - or 3-4 days.');
    expect(plainText('3.5 GB free\n-5 degrees\n#hashtag')).toBe('3.5 GB free\n-5 degrees\n#hashtag');
  });
});
