import { decodeEntity } from './entities.js';
import { step } from './work.js';

/**
 * The pieces of a link that both an inline link `[text](dest "title")` and a reference definition
 * `[label]: dest "title"` are made of (CommonMark §6.6, §4.7). Each scanner starts at an index of
 * the text and answers where the piece ends, so nothing is sliced or rescanned, and each stops at
 * the first character that decides it (the next bracket, quote, space or line ending), which is
 * what keeps many failed links linear.
 */

/** An ASCII punctuation character, the ones a backslash escapes (§2.4). */
export const PUNCT = /[!-\/:-@[-`{-~]/;
/** A character reference's body (§6.2). */
export const ENTITY = '&(#x[\\da-f]{1,6}|#\\d{1,7}|[a-z][a-z\\d]{1,31});';
const ESCAPE_OR_ENTITY = RegExp(`\\\\(${PUNCT.source})|${ENTITY}`, 'gi');

/** Backslash escapes and entities in a destination, title or info string, resolved (§2.4, §6.2). */
export const unescape = (s: string): string => s.replace(ESCAPE_OR_ENTITY, (all, escaped?: string, entity?: string) => escaped ?? decodeEntity(entity!) ?? all);

/** A link label's normal form: case-folded, inner whitespace collapsed (§4.7). */
export const normalizeLabel = (s: string): string => s.trim().replace(/\s+/g, ' ').toLowerCase().toUpperCase();

/**
 * The index after the `close` character that ends what opens at `i`, skipping backslash escapes;
 * -1 if a character of `stop` or the end of the text comes first.
 */
const scan = (s: string, i: number, close: string, stop: string) => {
  for (let j = i + 1; j < s.length; j++) {
    step();
    if (s[j] == '\\') j++;
    else if (s[j] == close) return j + 1;
    else if (stop.includes(s[j]!)) break;
  }
  return -1;
};

/** The index after the link label `[...]` that starts at `i` (no unescaped brackets inside, at most 999 characters), or -1. */
export const scanLabel = (s: string, i: number): number => {
  const end = scan(s, i, ']', '[');
  return end - i < 1002 ? end : -1;
};

/** Skips spaces and tabs and at most one line ending. */
export const skipSpace = (s: string, i: number): number => {
  while (/[ \t]/.test(s[i]!)) i++;
  if (s[i] == '\n') i++;
  while (/[ \t]/.test(s[i]!)) i++;
  return i;
};

/**
 * A link destination at `i`: `<...>` on one line, or a run without spaces or control characters
 * whose parentheses balance. Nesting beyond 32 parentheses is refused (markdown-it does the same):
 * without a bound, `[a](x` repeated makes every attempt scan to the end of the text.
 */
export function scanDestination(s: string, i: number): [dest: string, end: number] | undefined {
  let j = i;
  if (s[i] == '<') {
    j = scan(s, i, '>', '<\n');
    return j < 0 ? undefined : [unescape(s.slice(i + 1, j - 1)), j];
  }
  let depth = 0;
  for (; j < s.length && s[j]! > ' '; j++) {
    step();
    if (s[j] == '\\' && PUNCT.test(s[j + 1]!)) j++;
    else if (s[j] == '(' && ++depth > 32) return;
    else if (s[j] == ')' && --depth < 0) break;
  }
  return depth > 0 || (j == i && s[j] != ')') ? undefined : [unescape(s.slice(i, j)), j];
}

/** A link title at `i`: `"..."`, `'...'` or `(...)`, escapes allowed, no unescaped `(` inside parentheses. */
export function scanTitle(s: string, i: number): [title: string, end: number] | undefined {
  const close = s[i] == '(' ? ')' : s[i]!;
  const end = `"')`.includes(close) ? scan(s, i, close, close == ')' ? '(' : '') : -1;
  return end < 0 ? undefined : [unescape(s.slice(i + 1, end - 1)), end];
}
