import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type { ExtractedPage } from './extract.js';

/** One quotable piece of a page: what retrieval ranks and the prompt quotes. */
export interface Passage {
  url: string;
  title: string;
  /** The heading path it sits under ("" for the text before the first heading). */
  heading: string;
  text: string;
  /** Its place in the page, from 0. */
  position: number;
  /** o200k tokens of `text` (the prompt adds its own framing). */
  tokens: number;
}

/**
 * Small enough to quote and to fit several into the default 2,000-token knowledge budget, large
 * enough to hold a whole step-by-step answer. A section under this size is one passage.
 */
export const MAX_PASSAGE_TOKENS = 300;
/** Sections shorter than this merge into the next one under the same top heading. */
const MIN_PASSAGE_TOKENS = 40;
/** A page gives at most this many passages; the rest of a huge page is not worth the index. */
const MAX_PASSAGES_PER_PAGE = 200;
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * Splits a page along its headings: each section becomes one passage, or several when it is
 * long (cut at paragraphs, then at sentence ends, then at spaces), each carrying the page's title,
 * URL and the section's heading. Linear in the text: each paragraph is counted once, and a long
 * one is cut by a single left-to-right scan.
 */
export function chunk(page: ExtractedPage, url: string): Passage[] {
  const passages: Passage[] = [];
  const push = (heading: string, text: string, tokens: number): void => {
    if (passages.length < MAX_PASSAGES_PER_PAGE) passages.push({ url, title: page.title, heading, text, position: passages.length, tokens });
  };
  for (const section of page.sections) {
    let parts: string[] = [];
    let size = 0;
    const flush = (): void => {
      if (parts.length > 0) push(section.heading, parts.join('\n\n'), size);
      parts = [];
      size = 0;
    };
    for (const paragraph of section.text.split(/\n{2,}/)) {
      for (const piece of splitLong(paragraph)) {
        const tokens = countTokens(piece, AS_PLAIN_TEXT);
        if (size > 0 && size + tokens + 1 > MAX_PASSAGE_TOKENS) flush();
        parts.push(piece);
        size += tokens + (parts.length > 1 ? 1 : 0);
      }
    }
    flush();
  }
  return mergeSmall(passages);
}

/** A tiny passage (a one-line section) is joined to the next one of the same page when both fit. */
function mergeSmall(passages: Passage[]): Passage[] {
  const out: Passage[] = [];
  for (const passage of passages) {
    const previous = out.at(-1);
    if (previous !== undefined && previous.tokens < MIN_PASSAGE_TOKENS && previous.tokens + passage.tokens + 8 <= MAX_PASSAGE_TOKENS) {
      const label = passage.heading !== '' && passage.heading !== previous.heading ? `${passage.heading}\n\n` : '';
      previous.text = `${previous.text}\n\n${label}${passage.text}`;
      // Counted again, not estimated: the grounded prompt trusts a passage's count against the
      // request's token budget, and a heading's label can be long (indexing time, not per chat).
      previous.tokens = countTokens(previous.text, AS_PLAIN_TEXT);
      continue;
    }
    out.push({ ...passage, position: out.length });
  }
  return out;
}

/**
 * Cuts a paragraph longer than a passage into pieces of about `MAX_PASSAGE_TOKENS` (estimated at
 * three characters a token, so the scan stays one pass), preferring a sentence end, then a space.
 */
function splitLong(paragraph: string): string[] {
  const limit = MAX_PASSAGE_TOKENS * 3;
  if (paragraph.length <= limit) return [paragraph];
  const pieces: string[] = [];
  let start = 0;
  while (paragraph.length - start > limit) {
    const window = paragraph.slice(start, start + limit);
    let cut = Math.max(window.lastIndexOf('. '), window.lastIndexOf('? '), window.lastIndexOf('! '));
    if (cut < limit / 2) cut = window.lastIndexOf(' ');
    if (cut < limit / 2) cut = limit - 1;
    pieces.push(paragraph.slice(start, start + cut + 1).trim());
    start += cut + 1;
  }
  pieces.push(paragraph.slice(start).trim());
  return pieces.filter((p) => p !== '');
}
