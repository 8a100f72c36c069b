import { createRenderer, latest, STEP } from './markdown/markdown.js';
import type { ComponentChildren } from 'preact';
import { textOf } from './markdown/text-of.js';

/**
 * What a screen reader should hear of a finished markdown reply (the status region announces it
 * once): the words, without the syntax a speech synthesizer would read out as "star star" or
 * "backtick". The reply goes through the same parser as the log, so it is linear in the text like
 * it, and the words are those the log shows: a link's text, not its address; an image's alt text;
 * a code block's code; one line per block. (No regex over the whole text: `/ *\n/` alone is
 * quadratic on a run of spaces that ends in something else.)
 *
 * It is read with the renderer that showed the reply (markdown.tsx's `latest`), once that has shown
 * all of it or after twice the frames that needs: a long reply that came at once shows over a few
 * frames, a frame's text at a time (markdown.tsx's STEP), and is parsed as it shows, never in one
 * long task. (If the log stops showing it, its panel closed, the rest is read at once.)
 */
export const plainText = async (md: string): Promise<string> => {
  const shown = latest && md.startsWith(latest._text) ? latest : { _render: createRenderer(), _text: '' };
  // (At most twice the frames the log needs at STEP characters a frame.)
  for (let n = 0; shown._text.length < md.length && n++ < md.length / (STEP / 2); ) await new Promise(requestAnimationFrame);
  // (Read with the renderer, not marked as shown: what the log has shown is the log's to say, and
  // the log shows the rest on its next frames.)
  return spokenText(shown._render(md));
};

/** A rendered reply's words, a line per block (textOf's lines, trimmed, the empty ones left out). */
export const spokenText = (children: ComponentChildren): string =>
  textOf(children)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('\n');
