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

/**
 * What the text becomes, in order: a doubly linked list of text, elements and delimiter runs.
 * When emphasis or a link is recognised, the nodes between its opener and its closer are taken
 * out of the list into one new node (each node is taken once, so this is linear).
 */
interface Node {
  /** Text, an element, or (past the depth limit) children; none on a delimiter run. */
  _value?: ComponentChildren;
  /** How many elements deep its content goes; past the depth limit, the node after the unmarked ones it starts. */
  _depth?: number;
  _skip?: Node;
  _prev?: Node;
  _next?: Node | undefined;
}

/** A run of `*`, `_` or `~` that can open or close (§6.2's delimiter run), also on the delimiter stack. */
interface Delimiter extends Node {
  _char: string;
  /**
   * Characters not yet used (the rest shows as text). A `~` run is used whole, so while on the
   * stack its `_left` is its length, which a closing `~` run must match.
   */
  _left: number;
  _canOpen: boolean;
  _canClose: boolean;
  _below?: Delimiter;
  _above?: Delimiter | undefined;
}

/** A `[` or `![`: its node, and what a link made of it needs to know. */
interface Bracket extends Node {
  /** The first character after it, and the delimiter stack's top when it opened. */
  _pos: number;
  _bottom: Delimiter;
  _image: boolean;
  _active: boolean;
  _outer: Bracket | undefined;
}

/** The kinds of character for flanking (§6.2): 0 other, 1 punctuation, 2 whitespace (and the text's ends). */
const kind = (c = ' ') => (/\s/.test(c) ? 2 : +/[\p{P}\p{S}]/u.test(c));
/** The characters that may start something other than text; the text between is passed over natively. */
const SPECIAL = /[\\`*_~[\]!<&\n@hw]/g;
/** A URI autolink (§6.5). An email in angle brackets is linked by the GFM rule for bare emails instead (the brackets show). */
const AUTOLINK = /<([a-z][a-z\d+.-]{1,31}:[^\s<>]*)>/iy;

/**
 * A paragraph's, heading's or table cell's inline markdown (CommonMark §6, GFM strikethrough and
 * extended autolinks) to Preact children. One pass over the text, then CommonMark's
 * delimiter-stack algorithm for emphasis (§6.3 "process emphasis", with the `openers_bottom`
 * bound per character and length mod 3, as commonmark.js's inlines.js has it, less the rule of 3), so the
 * work is linear in the text: no scan goes back over text an earlier one passed, code spans find
 * their closing backticks in a list of backtick runs made once, and every link pattern stops
 * at the first character that decides it (see link-parts.ts).
 *
 * Safe by construction: the output is text and a fixed set of elements; the only attributes taken
 * from the text are a link's href, which must pass `safeHref`, and its title. Raw HTML is text.
 */
// The state of the text being parsed. Kept here rather than in closures made on every call: a
// table makes a call per cell, and a closure each is garbage each.
let src: string;
let head: Node;
let tail: Node;
let top: Delimiter;
let brackets: Bracket | undefined;
let start: number;
let i: number;
/** Where the last link ended: the brackets opened before it have been through the no-links-in-links pass. */
let linked: number;
let m: RegExpExecArray | null;

const at = (re: RegExp, k: number) => ((re.lastIndex = k), (m = re.exec(src)));

const push = (node: Node) => {
  node._prev = tail;
  tail = tail._next = node;
};
/** Ends the run of plain text at `to`. */
const flush = (to: number) => {
  if (to > start) push({ _value: src.slice(start, to) });
  start = to;
};
/** Puts `node` (or a node of `value`) where `from`..`to` was and goes on after it. */
const emit = (value: ComponentChildren, from: number, to: number, node: Node = { _value: value }) => {
  flush(from);
  push(node);
  start = i = to;
};
/**
 * Replaces the nodes strictly between `a` and `b` with what `make` makes of them. Past the depth
 * limit they stay where they are, unmarked (their text shows), and the first of them says where
 * they end, so that no later walk goes through them again.
 */
const wrap = (a: Node, b: Node | undefined, make: (kids: ComponentChildren[]) => ComponentChildren) => {
  const kids: ComponentChildren[] = [];
  let depth = 0;
  for (let x = a._next; x != b; x = x!._skip ?? x!._next) {
    step();
    const value = valueOf(x!);
    if (value !== '') kids.push(value);
    if (x!._depth! > depth) depth = x!._depth!;
  }
  if (depth < MAX_INLINE_DEPTH) {
    const value = make(kids);
    // (An image is its text: it adds no depth.)
    a._next = { _value: value, _depth: typeof value == 'string' ? depth : depth + 1, _prev: a, _next: b };
    if (b) b._prev = a._next;
    else tail = a._next;
  } else Object.assign(a._next!, { _skip: b, _depth: depth + 1 });
};
const unlink = (d: Delimiter) => {
  d._below!._above = d._above;
  if (d._above) d._above._below = d._below;
  else top = d._below!;
};

/** §6.3's process emphasis, for the delimiters above `floor`. */
const processEmphasis = (floor: Delimiter) => {
  if (!floor._above) return;
  const openersBottom: Record<string, Delimiter> = {};
  for (let closer: Delimiter | undefined = floor._above; closer; ) {
    let next: Delimiter | undefined = closer._above;
    if (closer._canClose) {
      const key = closer._char + (closer._left % 3);
      const stop = openersBottom[key] ?? floor;
      let opener = closer._below!;
      while (opener != stop && !matches(opener, closer)) {
        step();
        opener = opener._below!;
      }
      if (opener != stop) {
        // Strikethrough takes the whole run (GFM: `~` or `~~`, the same on both sides).
        const use = closer._char == '~' ? closer._left : closer._left > 1 && opener._left > 1 ? 2 : 1;
        opener._left -= use;
        closer._left -= use;
        wrap(opener, closer, (kids) => h(closer!._char == '~' ? 'del' : use > 1 ? 'strong' : 'em', null, kids));
        // The delimiters in between can no longer match anything.
        opener._above = closer;
        closer._below = opener;
        if (!opener._left) unlink(opener);
        if (closer._left) next = closer;
        else unlink(closer);
      } else {
        openersBottom[key] = closer._below!;
        if (!closer._canOpen) unlink(closer);
      }
    }
    closer = next;
  }
  floor._above = undefined;
  top = floor;
};

/**
 * A paragraph's, heading's or table cell's inline markdown (CommonMark §6, GFM strikethrough and
 * extended autolinks) to Preact children. One pass over the text, then CommonMark's
 * delimiter-stack algorithm for emphasis (§6.3 "process emphasis", with the `openers_bottom`
 * bound per character and length mod 3, as commonmark.js's inlines.js has it, less the rule of 3), so the
 * work is linear in the text: no scan goes back over text an earlier one passed, code spans find
 * their closing backticks in a list of backtick runs made once, and every link pattern stops
 * at the first character that decides it (see link-parts.ts).
 *
 * Safe by construction: the output is text and a fixed set of elements; the only attributes taken
 * from the text are a link's href, which must pass `safeHref`, and its title. Raw HTML is text.
 */
export function parseInline(text: string, lookUp: LookUp): ComponentChildren[] {
  // Plain text (a table cell, often) is itself.
  if (((SPECIAL.lastIndex = 0), !SPECIAL.test(text))) return [text];
  src = text;
  tail = head = {};
  top = {} as Delimiter;
  const bottom = top;
  brackets = undefined;
  start = i = linked = 0;
  /** Where the last `]` is: a `[` after it cannot become a link, so it is only text. */
  const lastClose = src.lastIndexOf(']');
  let closingTicks: ((length: number, from: number) => number) | undefined;
  while (((SPECIAL.lastIndex = i), SPECIAL.test(src))) {
    step();
    i = SPECIAL.lastIndex - 1;
    const c = src[i]!;
    let j = i + 1;
    let found: [number, number, string?] | [number, string] | undefined;
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
      const close = (closingTicks ??= backtickRuns(src))(j - i, j);
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
        const d: Delimiter = { _char: c, _left: j - i, _canOpen: canOpen, _canClose: canClose, _below: top };
        emit(0, i, j, (top = top._above = d));
      } else i = j;
    } else if ((c == '[' || (c == '!' && src[j] == '[')) && i < lastClose) {
      if (c == '!') j++;
      brackets = { _value: src.slice(i, j), _pos: j, _bottom: top, _image: c == '!', _active: true, _outer: brackets };
      emit(0, i, j, brackets);
    } else if (c == ']' && brackets) {
      const opener: Bracket = brackets;
      brackets = opener._outer;
      let def: LinkDef | undefined;
      if (opener._active) {
        if (at(LINK_TAIL, j)) {
          def = linkOf(m![1], m![2]);
          j = LINK_TAIL.lastIndex;
        } else {
          // A full `[text][label]`, a collapsed `[text][]` or a shortcut `[text]` reference; the
          // text is a label only if short enough (which also bounds the work of many `]`).
          at(REF_LABEL, j);
          const label = m?.[1] || (i - opener._pos < 1000 && src.slice(opener._pos, i));
          if (label && (def = lookUp(normalizeLabel(label))) && m) j = REF_LABEL.lastIndex;
        }
      }
      if (def) {
        const { _href, _title } = def;
        flush(i);
        processEmphasis(opener._bottom);
        // The link takes the place of its `[` (emptied) and of everything after it.
        opener._value = '';
        wrap(opener._prev!, undefined, (kids) =>
          // An autolink in a link's text shows as text: a link cannot hold a link.
          opener._image ? textOf(kids) : link(_href, kids.map((kid) => ((kid as VNode)?.type == 'a' ? (kid as VNode<{ children: [] }>).props.children : kid)), _title),
        );
        start = i = j;
        // No links in links: the brackets open before this one can no longer make one (images can).
        // Those opened before the last link were deactivated then: each bracket is passed once.
        if (!opener._image) {
          for (let o = brackets; o && o._pos > linked && (o._image || o._active); o = o._outer) {
            step();
            o._active = o._image;
          }
          linked = j;
        }
      } else i++;
    } else if (c == '<' && at(AUTOLINK, i)) {
      emit(link(m![1]!, m![1]), i, AUTOLINK.lastIndex);
    } else if (c == '&' && at(ENTITY, i) && decodeEntity(m![1]!)) {
      emit(decodeEntity(m![1]!), i, ENTITY.lastIndex);
    } else if (c == '\n' && src[i - 1] == ' ') {
      // Two or more spaces before a line ending make a hard break; the spaces go either way. (A
      // line ending after no space is text as it is: no node for each line of a long paragraph.)
      let k = i;
      while (k > start && src[k - 1] == ' ') k--;
      emit(i - k > 1 ? h('br', null) : '\n', k, j);
    } else if (c == '@' && (found = emailAutolink(src, i, start))) {
      const [from, to, href] = found;
      emit(href ? link(href, src.slice(from, to)) : src.slice(from, to), from, to);
    } else if (c > '@' && (!i || /[\s*_~(]/.test(src[i - 1]!)) && (found = urlAutolink(src, i))) {
      emit(link(found[1], src.slice(i, found[0])), i, found[0]);
    } else i++;
  }
  flush(src.length);
  processEmphasis(bottom);
  // The list's values, text joined to the text before it into runs of about 1,000 characters: a
  // paragraph still being written then changes only its last text node, and the browser lays out
  // again only what changed (one node would be all of it, on every frame).
  const out: ComponentChildren[] = [];
  for (let x: Node | undefined = head._next; x; x = x._next) {
    step();
    const value = valueOf(x);
    const last = out.at(-1);
    if (typeof value == 'string' && typeof last == 'string' && last.length < 1e3) out[out.length - 1] += value;
    else out.push(value);
  }
  return out;
}

/** A node's value: a delimiter run shows the characters it did not use. */
const valueOf = (x: Node): ComponentChildren => x._value ?? (x as Delimiter)._char.repeat((x as Delimiter)._left);

const matches = (opener: Delimiter, closer: Delimiter) =>
  opener._char == closer._char &&
  opener._canOpen &&
  // Without §6.2's "rule of 3" (rules 9 and 10), for bytes: see markdown-spec.test.tsx.
  (closer._char != '~' || opener._left == closer._left);

/** Hrefs checked lately, and what `safeHref` made of each ('' for none): the URL parser is dear, and one reference is often used many times. */
const checked = new Map<string, string>();

/** A link, if its href passes `safeHref`; otherwise its text. Opens in a new tab without an opener. */
function link(href: string, kids: ComponentChildren, title?: string): ComponentChildren {
  let safe = checked.get(href);
  if (safe == null) {
    if (checked.size > 999) checked.clear();
    checked.set(href, (safe = safeHref(href) ?? ''));
  }
  return safe ? h('a', { href: safe, title: title || undefined, target: '_blank', rel: 'noopener noreferrer' }, kids) : kids;
}

/**
 * For each length, the positions of the backtick runs of exactly that length: a code span's
 * closing run is the next one of the same length (§6.1), found by moving a cursor forward, never
 * by scanning the text again.
 */
function backtickRuns(s: string): (length: number, from: number) => number {
  const runs: number[][] = [];
  const cursors: number[] = [];
  for (let i = s.indexOf('`'), j; i >= 0; i = s.indexOf('`', j)) {
    for (j = i; s[j] == '`'; ) j++;
    (runs[j - i] ??= []).push(i);
  }
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
