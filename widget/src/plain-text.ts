import { createRenderer, latest } from './markdown/markdown.js';
import { textOf } from './markdown/text-of.js';

/**
 * What a screen reader should hear of a markdown reply (the status region announces it once):
 * the words, without the syntax a speech synthesizer would read out as "star star" or "backtick".
 * The reply goes through the same parser as the log (the very renderer that showed it, when it
 * has: markdown.tsx's `latest`), so it is linear in the text like it, and the words are those the
 * log shows: a link's text, not its address; an image's alt text; a code
 * block's code; one line per block. (No regex over the whole text: `/ *\n/` alone is quadratic
 * on a run of spaces that ends in something else.)
 */
export const plainText = (md: string): string => {
  // The renderer that showed this reply goes on to its end; its component then shows that end too
  // (rather than parse the text again from where it was).
  const shown = latest && md.startsWith(latest._text) ? latest : { _render: createRenderer(), _text: '' };
  shown._text = md;
  return textOf(shown._render(md))
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('\n');
};
