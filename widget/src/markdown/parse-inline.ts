import { h, type ComponentChildren } from 'preact';
import { safeHref } from '../safe-href.js';

/**
 * Inline markdown (CommonMark's common subset plus GFM strikethrough and bare-URL autolinks) to
 * Preact children, by one regex: the leftmost token wins, text between tokens stays text.
 * Safe by construction: the output is text and a fixed set of elements, the only attribute taken
 * from the text is an href that passed `safeHref`, and raw HTML such as `<img onerror=...>` stays
 * literal text (text nodes cannot run anything).
 * Not CommonMark's delimiter algorithm: an opener takes the first plausible closer. That is
 * enough for model output and keeps the renderer small (issue 4's size budget).
 *
 * The tokens, by capture group:
 * 1: a backslash-escaped punctuation character, shown as itself.
 * 2: a hard break, two spaces or a backslash before the newline.
 * 3, 4: a code span; the closing run has exactly as many backticks as the opening one.
 * 5, 6, 7: `[text](url "title")` or `![alt](src)`; one level of parentheses in the url.
 * 8: `<https://...>` or `<name@host>`.
 * 9: a bare http(s) URL starting a word; trailing punctuation is not part of it (GFM).
 * 10, 11, 12: emphasis, strong (or both, with three) and strikethrough. The opener is the whole
 *   run, the text does not start with a space or end with a space or the marker, and the closer is
 *   not followed by the marker, so `***a***` and `*a **b** c*` nest. `_` does not open inside a
 *   word, so snake_case stays text.
 */
const TOKEN =
  /\\([!-\/:-@[-`{-~])|( {2,}|\\)\n|(?<!`)(`+)(?!`)([^]*?[^`])\3(?!`)|(!?)\[([^\]]*)\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))*)>?(?:\s+"[^"]*")?\s*\)|<([^\s<>]+)>|(?<![^\s(*_~])(https?:\/\/[^\s<]*[^\s<.,:;!?'")*_~])|(((?<!\w)_|[*~])\11{0,2})(?!\s|\11)([^]*?(?!\11)\S)\10(?!\11)/g;

/**
 * Nesting stays shallow without a cap, unlike quotes and lists (parse-blocks.ts): an opener
 * closes at the first closer of its kind, so emphasis nests at most once per kind of marker run
 * (`*`, `**`, `***`, `_`, ... `~~~`), and a link's text cannot hold a link (no `]` in it).
 */
export function parseInline(src: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let at = 0;
  for (const m of src.matchAll(TOKEN)) {
    const [all, esc, br, , code, bang, label, dest = '', auto, bare, mark, , body = ''] = m;
    out.push(
      src.slice(at, m.index),
      esc ??
        (br
          ? h('br', null)
          : code
            ? // Newlines become spaces, and one space each side goes when both are there (CommonMark).
              h('code', null, code.replace(/\n/g, ' ').replace(/^ (.*\S.*) $/, '$1'))
            : label != null
              ? // An image renders as its alt text.
                bang ? label : link(safeHref(dest), label ? parseInline(label) : dest)
              : auto
                ? link(safeHref(/^[^:]+@/.test(auto) ? 'mailto:' + auto : auto), auto, all)
                : bare
                  ? link(safeHref(bare), bare)
                  : h(mark![0] == '~' ? 'del' : mark![1] ? 'strong' : 'em', null, parseInline(mark![2] ? mark![0] + body + mark![0] : body))),
    );
    at = m.index + all.length;
  }
  out.push(src.slice(at));
  return out;
}

/** A link if the href passed `safeHref`; otherwise its text (a rejected `[text](url)`) or the literal source. */
function link(href: string | undefined, kids: ComponentChildren, literal = kids): ComponentChildren {
  return href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, kids) : literal;
}
