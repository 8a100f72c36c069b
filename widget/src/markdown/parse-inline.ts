import { h, type ComponentChildren, type VNode } from 'preact';
import { safeHref } from '../safe-href.js';
import { emailAutolink, urlAutolink } from './autolink.js';
import { decodeEntity } from './entities.js';
import { ENTITY, LINK_TAIL, linkOf, normalizeLabel, PUNCT, REF_LABEL } from './link-parts.js';
import { textOf } from './text-of.js';
import { step } from './work.js';

export interface LinkDef {
  _href: string;
  _title?: string | undefined;
}

/** Looks up a normalised reference label (the caller notes the ones it could not settle). */
export type LookUp = (label: string) => LinkDef | undefined;

/**
 * How deep emphasis, links and strikethrough nest before further levels show their text only:
 * `*a **a ***a ...` would otherwise nest thousands deep and overflow the stack while Preact
 * renders it.
 */
export const MAX_INLINE_DEPTH = 20;

/** A run of `*`, `_` or `~` that can open or close (§6.2's delimiter run), on a doubly linked stack. */
interface Delimiter {
  _char: string;
  /** Characters not yet used, and the run's length as written (the "rule of 3" uses it). */
  _left: number;
  _length: number;
  _canOpen: boolean;
  _canClose: boolean;
  _prev?: Delimiter | undefined;
  _next?: Delimiter | undefined;
  /** Tags this run opens and closes, innermost first, once matched. */
  _opens?: string[];
  _closes?: string[];
}

/** A link or image (replacing its `[` once it is known to be one), or where one ends (no href). */
interface LinkMark extends Partial<LinkDef> {
  _image?: boolean;
}

interface Bracket {
  /** Its `[` in `out`, the first character after it, and the delimiter stack's top when it opened. */
  _at: number;
  _pos: number;
  _bottom: Delimiter;
  _image: boolean;
  _active: boolean;
  _prev: Bracket | undefined;
}

type Item = ComponentChildren | Delimiter | LinkMark;

const END: LinkMark = {};
/** The kinds of character for flanking (§6.2): 0 other, 1 punctuation, 2 whitespace (and the text's ends). */
const kind = (c = ' ') => (/\s/.test(c) ? 2 : +/[\p{P}\p{S}]/u.test(c));
/** The characters that may start something other than text; the text between is passed over natively. */
const SPECIAL = /[\\`*_~[\]!<&\n@hw]/g;
const AUTOLINK = /<([a-z][a-z\d+.-]{1,31}:[^\s<>]*)>|<([\w.!#$%&'*+/=?^`{|}~-]+@[a-z\d-]+(?:\.[a-z\d-]+)*)>/iy;
const REFERENCE = RegExp(ENTITY, 'iy');

/**
 * A paragraph's, heading's or table cell's inline markdown (CommonMark §6, GFM strikethrough and
 * extended autolinks) to Preact children. One pass over the text, then CommonMark's
 * delimiter-stack algorithm for emphasis (§6.3 "process emphasis", with the `openers_bottom`
 * bound per character, can-open and length mod 3, as commonmark.js's inlines.js has it), so the
 * work is linear in the text: no scan goes back over text an earlier one passed, code spans find
 * their closing backticks in a precomputed list of backtick runs, and every link pattern stops
 * at the first character that decides it (see link-parts.ts).
 *
 * Safe by construction: the output is text and a fixed set of elements; the only attributes taken
 * from the text are a link's href, which must pass `safeHref`, and its title. Raw HTML is text.
 */
export function parseInline(src: string, lookUp: LookUp): ComponentChildren[] {
  const out: Item[] = [];
  const bottom = {} as Delimiter;
  let top = bottom;
  let brackets: Bracket | undefined;
  const closingTicks = backtickRuns(src);
  let start = 0;
  let i = 0;
  /** Ends the run of plain text at `to`. */
  const flush = (to: number) => {
    if (to > start) out.push(src.slice(start, to));
    start = to;
  };
  /** Puts `node` where `from`..`to` was and goes on after it. */
  const emit = (node: Item, from: number, to: number) => {
    flush(from);
    out.push(node);
    start = i = to;
  };
  const unlink = (d: Delimiter) => {
    d._prev!._next = d._next;
    if (d._next) d._next._prev = d._prev;
    else top = d._prev!;
  };

  /** §6.3's process emphasis, for the delimiters above `floor`. */
  const processEmphasis = (floor: Delimiter) => {
    const openersBottom: Record<string, Delimiter> = {};
    for (let closer = floor._next; closer; ) {
      let next = closer._next;
      if (closer._canClose) {
        const key = closer._char + closer._canOpen + (closer._length % 3);
        const stop = openersBottom[key] ?? floor;
        let opener = closer._prev!;
        while (opener != stop && !matches(opener, closer)) {
          step();
          opener = opener._prev!;
        }
        if (opener != stop) {
          // Strikethrough takes the whole run (GFM: `~` or `~~`, the same on both sides).
          const use = closer._char == '~' ? closer._left : closer._left > 1 && opener._left > 1 ? 2 : 1;
          const tag = closer._char == '~' ? 'del' : use > 1 ? 'strong' : 'em';
          opener._left -= use;
          closer._left -= use;
          (opener._opens ??= []).push(tag);
          (closer._closes ??= []).push(tag);
          // The delimiters in between can no longer match anything.
          opener._next = closer;
          closer._prev = opener;
          if (!opener._left) unlink(opener);
          if (closer._left) next = closer;
          else unlink(closer);
        } else {
          openersBottom[key] = closer._prev!;
          if (!closer._canOpen) unlink(closer);
        }
      }
      closer = next;
    }
    floor._next = undefined;
    top = floor;
  };

  while (((SPECIAL.lastIndex = i), SPECIAL.test(src))) {
    step();
    i = SPECIAL.lastIndex - 1;
    const c = src[i]!;
    let j = i + 1;
    let m: RegExpExecArray | null;
    let url: [number, string] | undefined;
    let mail: [number, number, string?] | undefined;
    if (c == '\\') {
      // An escaped character starts the next run of text, so it can mean nothing else.
      if (src[j] == '\n') emit(h('br', null), i, j + 1);
      else if (PUNCT.test(src[j]!)) {
        flush(i);
        start = j;
        i += 2;
      } else i++;
    } else if (c == '`') {
      while (src[j] == '`') j++;
      const close = closingTicks(j - i, j);
      if (close < 0) i = j;
      else {
        // Line endings are spaces; one space each side goes if both are there and it is not all spaces (§6.1).
        let code = src.slice(j, close).replace(/\n/g, ' ');
        if (code[0] == ' ' && code.at(-1) == ' ' && /[^ ]/.test(code)) code = code.slice(1, -1);
        emit(h('code', null, code), i, close + j - i);
      }
    } else if (c == '*' || c == '_' || c == '~') {
      while (src[j] == c) j++;
      const before = kind(src[i - 1]);
      const after = kind(src[j]);
      const left = after < 2 && (!after || before > 0);
      // A reader's choice (see markdown-spec.test.tsx): `**Note:**Text` closes after the colon.
      const right = (before < 2 && (!before || after > 0)) || (c == '*' && j - i == 2 && /[:.,;!?)]/.test(src[i - 1]!));
      const canOpen = left && (c != '_' || !right || before == 1);
      const canClose = right && (c != '_' || !left || after == 1);
      if ((canOpen || canClose) && (c != '~' || j - i < 3)) {
        const d: Delimiter = { _char: c, _left: j - i, _length: j - i, _canOpen: canOpen, _canClose: canClose, _prev: top };
        emit((top = top._next = d), i, j);
      } else i = j;
    } else if (c == '[' || (c == '!' && src[j] == '[')) {
      if (c == '!') j++;
      brackets = { _at: out.length + +(i > start), _pos: j, _bottom: top, _image: c == '!', _active: true, _prev: brackets };
      emit(src.slice(i, j), i, j);
    } else if (c == ']' && brackets) {
      const opener = brackets;
      brackets = opener._prev;
      let def: LinkDef | undefined;
      if (opener._active) {
        if (((LINK_TAIL.lastIndex = j), (m = LINK_TAIL.exec(src)))) {
          def = linkOf(m[1], m[2]);
          j = LINK_TAIL.lastIndex;
        } else {
          // A full `[text][label]`, a collapsed `[text][]` or a shortcut `[text]` reference; the
          // text is a label only if short enough (which also bounds the work of many `]`).
          m = ((REF_LABEL.lastIndex = j), REF_LABEL.exec(src));
          const label = m?.[1] || (i - opener._pos < 1000 && src.slice(opener._pos, i));
          if (label && (def = lookUp(normalizeLabel(label))) && m) j = REF_LABEL.lastIndex;
        }
      }
      if (def) {
        processEmphasis(opener._bottom);
        out[opener._at] = { ...def, _image: opener._image };
        emit(END, i, j);
        // No links in links: the brackets open before this one can no longer make one (images can).
        for (let o = brackets; o && !opener._image && (o._image || o._active); o = o._prev) {
          step();
          o._active = o._image;
        }
      } else i++;
    } else if (c == '<' && ((AUTOLINK.lastIndex = i), (m = AUTOLINK.exec(src)))) {
      emit(link(m[1] ?? 'mailto:' + m[2], m[1] ?? m[2]), i, AUTOLINK.lastIndex);
    } else if (c == '&' && ((REFERENCE.lastIndex = i), (m = REFERENCE.exec(src))) && decodeEntity(m[1]!)) {
      emit(decodeEntity(m[1]!), i, REFERENCE.lastIndex);
    } else if (c == '\n') {
      // Two or more spaces before a line ending make a hard break; the spaces go either way.
      let k = i;
      while (k > start && src[k - 1] == ' ') k--;
      emit(i - k > 1 ? h('br', null) : '\n', k, j);
    } else if (c == '@' && (mail = emailAutolink(src, i, start))) {
      const [from, to, href] = mail;
      emit(href ? link(href, src.slice(from, to)) : src.slice(from, to), from, to);
    } else if (c > '@' && (!i || /[\s*_~(]/.test(src[i - 1]!)) && (url = urlAutolink(src, i))) {
      emit(link(url[1], src.slice(i, url[0])), i, url[0]);
    } else i++;
  }
  flush(src.length);
  processEmphasis(bottom);
  return build(out);
}

const matches = (opener: Delimiter, closer: Delimiter) =>
  opener._char == closer._char &&
  opener._canOpen &&
  (closer._char == '~'
    ? opener._length == closer._length
    : // The rule of 3 (§6.2, rules 9 and 10).
      !((closer._canOpen || opener._canClose) && closer._length % 3 && (opener._length + closer._length) % 3 == 0));

/** A link, if its href passes `safeHref`; otherwise its text. Opens in a new tab without an opener. */
function link(href: string, kids: ComponentChildren, title?: string): ComponentChildren {
  const safe = safeHref(href);
  return safe ? h('a', { href: safe, title: title || undefined, target: '_blank', rel: 'noopener noreferrer' }, kids) : kids;
}

/**
 * For each length, the positions of the backtick runs of exactly that length: a code span's
 * closing run is the next one of the same length (§6.1), found by moving a cursor forward, never
 * by scanning the text again.
 */
function backtickRuns(s: string): (length: number, from: number) => number {
  const runs: Record<number, number[]> = {};
  const cursors: Record<number, number> = {};
  for (const m of s.matchAll(/`+/g)) (runs[m[0].length] ??= []).push(m.index);
  return (length, from) => {
    const list = runs[length] ?? [];
    let k = cursors[length] ?? 0;
    while (list[k]! < from) {
      step();
      k++;
    }
    cursors[length] = k;
    return list[k] ?? -1;
  };
}

/** The flat list of text, nodes and marks to a tree, closing each mark where it was matched. */
function build(out: Item[]): ComponentChildren[] {
  const root: ComponentChildren[] = [];
  const frames: [parent: ComponentChildren[], tag: string | LinkMark, deep: boolean][] = [];
  let kids = root;
  let inLink = 0;
  const isLink = (tag: string | LinkMark) => +(typeof tag != 'string' && !tag._image);
  /** Adds a child; text joins the text before it, so a long paragraph is one text node to diff. */
  const add = (kid: ComponentChildren) => {
    if (typeof kid == 'string' && typeof kids[kids.length - 1] == 'string') kids[kids.length - 1] += kid;
    else kids.push(kid);
  };
  const open = (tag: string | LinkMark) => {
    // Past the depth limit a level shares its parent's children: its text shows, unmarked.
    const deep = frames.length >= MAX_INLINE_DEPTH;
    frames.push([kids, tag, deep]);
    if (!deep) kids = [];
    inLink += isLink(tag);
  };
  const close = () => {
    const [parent, tag, deep] = frames.pop()!;
    inLink -= isLink(tag);
    if (!deep) {
      const made = typeof tag == 'string' ? h(tag, null, kids) : tag._image ? textOf(kids) : link(tag._href!, kids, tag._title);
      kids = parent;
      add(made);
    }
  };
  for (const x of out) {
    step();
    const d = x as Delimiter & LinkMark;
    if (d == END) close();
    else if (d?._char) {
      for (const _ of d._closes ?? []) close();
      if (d._left) add(d._char.repeat(d._left));
      for (let k = d._opens?.length ?? 0; k--; ) open(d._opens![k]!);
    } else if (d?._href != null) open(d);
    // An autolink inside a link's text shows as text: a link cannot hold a link.
    else add(inLink && (x as VNode)?.type == 'a' ? (x as VNode<{ children: ComponentChildren }>).props.children : (x as ComponentChildren));
  }
  return root;
}
