import { decodeEntity } from './entities.js';

/**
 * The pieces of a link that both an inline link `[text](dest "title")` and a reference definition
 * `[label]: dest "title"` are made of (CommonMark §6.6, §4.7), as sticky patterns tried at one
 * index. Each is linear however it fails: every repetition starts with a character that no other
 * alternative at that point can start with (no two ways to match the same text, so no
 * backtracking blow-up), and each stops at the first character that decides it: a destination at
 * a space or a third level of parentheses (markdown-it bounds nesting too; without a bound
 * `[a](x` repeated would make every attempt scan to the end), a title at its closing quote, a
 * label at a bracket. Those are the characters the next attempt starts from, so failed attempts
 * never scan the same text twice. Between the parts, `[ \t\n]*` stands for the spec's "spaces or
 * tabs and up to one line ending": inline text never holds a blank line (it ends the paragraph).
 */

/** An ASCII punctuation character, the ones a backslash escapes (§2.4). */
export const PUNCT = /[!-\/:-@[-`{-~]/;
/** A character reference (§6.2), its body in group 1. */
export const ENTITY = /&(#x[\da-f]{1,6}|#\d{1,7}|[a-z][a-z\d]{1,31});/iy;
const ESCAPE_OR_ENTITY = /\\([!-\/:-@[-`{-~])|&(#x[\da-f]{1,6}|#\d{1,7}|[a-z][a-z\d]{1,31});/gi;

/** Backslash escapes and entities in a destination, title or info string, resolved (§2.4, §6.2). */
export const unescape = (s: string): string => s.replace(ESCAPE_OR_ENTITY, (all, escaped?: string, entity?: string) => escaped ?? decodeEntity(entity!) ?? all);

/** A link label's normal form: case-folded, inner whitespace collapsed (§4.7). */
export const normalizeLabel = (s: string): string => s.trim().replace(/\s+/g, ' ').toLowerCase().toUpperCase();

// A destination is `<...>` on one line, or a run without spaces or control characters whose
// parentheses balance (two levels deep); a title is "..." or '...' (not (...): see
// markdown-spec.test.tsx); a label has up to 999
// characters and no unescaped brackets. The same pieces are spelled out in each pattern below.

/** After a link's text: `(destination "title")`, both optional, the title apart from the destination. */
export const LINK_TAIL =
  /\([ \t\n]*(<(?:[^<>\n\\]|\\.)*>|(?!<)(?:[^\0- ()\\]|\\.|\((?:[^\0- ()\\]|\\.|\((?:[^\0- ()\\]|\\.)*\))*\))+)?(?:[ \t\n]+("(?:[^"\\]|\\[^])*"|'(?:[^'\\]|\\[^])*'))?[ \t\n]*\)/y;
/** After a link's text: the `[label]` of a full (or, empty, collapsed) reference. */
export const REF_LABEL = /\[((?:[^[\]\\]|\\[^]){0,999})\]/y;
/** A link reference definition at the start of a line: label, destination, title; nothing after it on its line. */
export const DEFINITION =
  /\[((?:[^[\]\\]|\\[^]){0,999})\]:[ \t\n]*(<(?:[^<>\n\\]|\\.)*>|(?!<)(?:[^\0- ()\\]|\\.|\((?:[^\0- ()\\]|\\.|\((?:[^\0- ()\\]|\\.)*\))*\))+)(?:[ \t\n]+("(?:[^"\\]|\\[^])*"|'(?:[^'\\]|\\[^])*'))?[ \t]*(?:\n|$)/y;

/** A link's destination and title from a match of LINK_TAIL or DEFINITION, resolved. */
export const linkOf = (dest = '', title?: string): { _href: string; _title?: string | undefined } => ({
  _href: unescape(dest[0] == '<' ? dest.slice(1, -1) : dest),
  _title: title && unescape(title.slice(1, -1)),
});
