import { DEFINITION, linkOf, normalizeLabel, unescape } from './link-parts.js';
import type { LinkDef } from './parse-inline.js';
import { alignments, splitRow } from './table-row.js';
import { step } from './work.js';

/**
 * CommonMark's block structure (spec §3.2, "Phase 1"), one line at a time, as commonmark.js's
 * blocks.js does it: each line first continues the open container blocks it can (block quotes
 * need `>`, list items need their content's indentation), then may start new blocks, and what is
 * left goes to the open leaf block (a paragraph, a code block, a table row). A line is looked at
 * a bounded number of times for each open container (and containers nest at most
 * MAX_BLOCK_DEPTH deep), so parsing is linear in the text.
 * Left out on purpose: HTML blocks (a reply's HTML is shown as text); for bytes, an ATX heading's
 * closing `#`s (they show; markdown-spec.test.tsx). Added: GFM tables.
 *
 * Block types are one letter and property names start with `_` (which the build shortens,
 * vite.config.ts): the renderer has a size budget.
 * One cohesive algorithm, hence one file past 300 lines.
 */

/** d document, q block quote, l list, i list item, p paragraph, h heading, c code, r rule, t table, w table row. */
export type BlockType = 'd' | 'q' | 'l' | 'i' | 'p' | 'h' | 'c' | 'r' | 't' | 'w';

export interface Block {
  _type: BlockType;
  _up?: Block | undefined;
  _kids: Block[];
  _open: boolean;
  /** Closed for good (not only by a view): what it renders to can be kept (render-blocks.ts). */
  _done?: boolean;
  /** The first and last line numbers: a blank line between two siblings makes a list loose. */
  _first: number;
  _last: number;
  /** A leaf's text: a paragraph's or heading's inline source, a code block's lines, a table row. */
  _text: string;
  /**
   * The last line added to `_text`, kept apart: a paragraph's text is a rope of appended lines, and
   * reading back into it (`lastIndexOf`, `slice`) would flatten all of it on every line.
   */
  _line?: string;
  /** A heading's level; a list's start number (NaN for bullets). */
  _n?: number;
  /** Lists: the marker's last character (`-`, `*`, `+`, `.` or `)`). Items: its column, and their content's. */
  _marker?: string;
  _col?: number;
  _pad?: number;
  /** A list with a blank line between two items or between two blocks of one item. */
  _loose: boolean;
  /** Fenced code: what closes it, its indentation, its info string. */
  _close?: RegExp;
  _fenceCol?: number;
  _info?: string;
  /** Indented code: the length of its text up to its last non-blank line. */
  _keep?: number;
  /** Tables: the columns' alignment. */
  _align?: (string | undefined)[];
  /** What it was rendered to, and from what (render-blocks.ts). */
  _vnode?: unknown;
  _tight?: boolean | undefined;
  _epoch?: number;
  _missed?: boolean;
}

/**
 * How deep block quotes and list items nest: past this, `>` and list markers are text. A thousand
 * nested elements overflow the stack while Preact renders them, and a prompt injection can ask
 * for `> > > ...`.
 */
export const MAX_BLOCK_DEPTH = 20;

/** Sticky patterns, tried at one position of the line without slicing it. */
const ATX = /#{1,6}(?=[ \t]|$)/y;
const FENCE = /`{3,}(?!.*`)|~{3,}/y;
const SETEXT = /(=+|-+)[ \t]*$/y;
const BREAK = /([*_-])[ \t]*(?:\1[ \t]*){2,}$/y;
/** A list marker followed by a space or the end of the line. */
const ITEM = /(?:[*+-]|(\d{1,9})[.)])(?=[ \t]|$)/y;
/** A bullet under a numbered item, for the nesting a reader expects (see goesOn). */
const BULLET = /[*+-][ \t]/y;
const SPACE = /[ \t]/;

export interface BlockParser {
  /** Adds one complete line (without its line ending). */
  add(line: string): void;
  /**
   * Calls `read` with the document as if it ended with `partial` (the line still being written):
   * every block closed, its reference definitions collected. Then puts the parser back as it was,
   * so the next complete line continues where it left off. Costs the open blocks, not the text.
   */
  view<T>(partial: string, read: (doc: Block, refs: Refs) => T): T;
}

export interface Refs {
  /** A normalised label's definition, and whether the text so far has it for good (not only in a view). */
  _get(label: string): [LinkDef, boolean] | undefined;
  /** Bumped whenever a definition comes or goes: a rendering that missed one may now differ. */
  _epoch: number;
}

export function blockParser(): BlockParser {
  const defs = new Map<string, [LinkDef, boolean]>();
  /** The labels defined, in order, so that `view` can take back the ones it added. */
  const order: string[] = [];
  const refs: Refs = { _get: (label) => defs.get(label), _epoch: 0 };
  let settled = true;
  let lineNo = 0;
  // The line being parsed and where we are in it: offset and column (a tab is 4 columns wherever it
  // is, not the spec's "to the next multiple of 4": the same for tabs that start a line);
  // the next non-space character, its column, the indentation up to it, and whether there is one.
  let ln = '';
  let off = 0;
  let col = 0;
  let next = 0;
  let nextCol = 0;
  let indent = 0;
  let blank = false;
  const block = (type: BlockType, up?: Block): Block => ({ _type: type, _up: up, _kids: [], _open: true, _first: lineNo, _last: lineNo, _text: '', _loose: false });
  const doc = block('d');
  let tip = doc;

  const findNext = () => {
    // Each run of spaces is read once a line: while we are still inside the run, its end stands.
    if (off > next)
      for (next = off, nextCol = col; SPACE.test(ln[next]!); next++) {
        step();
        nextCol += ln[next] == ' ' ? 1 : 4;
      }
    blank = !ln[next];
    indent = nextCol - col;
  };

  /** Skips `n` columns of spaces and tabs; a tab is skipped whole (see markdown-spec.test.tsx). */
  const skip = (n: number) => {
    for (let width; n > 0 && SPACE.test(ln[off]!); off++) {
      step();
      col += width = ln[off] == '\t' ? 4 : 1;
      n -= width;
    }
  };

  const toNext = () => {
    off = next;
    col = nextCol;
  };

  const at = (re: RegExp) => ((re.lastIndex = next), re.exec(ln));

  /** A block quote's `>` and the one space after it that belongs to the marker (§5.1). */
  const quoteMarker = () => indent < 4 && ln[next] == '>' && ((off = next + 1), (col = nextCol + 1), skip(1), 1);

  /** Closes the tip: its last line, its reference definitions (a paragraph left empty renders nothing). */
  const close = () => {
    const b = tip;
    b._open = false;
    b._done = settled;
    tip = b._up!;
    if (b._type == 'p') b._text = takeDefinitions(b._text);
    if (/[lit]/.test(b._type)) b._last = b._kids.at(-1)?._last ?? b._first;
  };

  /** Takes the link reference definitions at the start of a paragraph's text (§4.7); answers the rest. */
  const takeDefinitions = (text: string) => {
    let i = 0;
    for (let m, label; ((DEFINITION.lastIndex = i), (m = DEFINITION.exec(text))) && (label = normalizeLabel(m[1]!)); i = DEFINITION.lastIndex) {
      step();
      if (!defs.has(label)) {
        defs.set(label, [linkOf(m[2], m[3]), settled]);
        order.push(label);
        refs._epoch++;
      }
    }
    return text.slice(i);
  };

  /**
   * Adds a block of `type` at the tip, closing what cannot hold it (a list holds only items, a
   * table only rows; the document, quotes and items hold any other block); notes a list gone loose.
   */
  const addBlock = (type: BlockType) => {
    while (tip._type == 'l' ? type != 'i' : tip._type == 't' ? type != 'w' : !/[dqi]/.test(tip._type) || /[iw]/.test(type)) close();
    const b = block(type, tip);
    // A blank line between two items of a list, or between two blocks of one item (§5.3).
    if ((tip._kids.at(-1)?._last ?? lineNo) < lineNo - 1 && /[li]/.test(tip._type)) (tip._type == 'i' ? tip._up! : tip)._loose = true;
    tip._kids.push(b);
    return (tip = b);
  };

  /** Whether open block `b` goes on on this line: 0 yes, 1 no, 2 the line was its closing fence. */
  const goesOn = (b: Block): number => {
    const type = b._type;
    return type == 'q'
      ? quoteMarker()
        ? ((b._last = lineNo), 0)
        : 1
      : type == 'i'
        ? // An item can begin with at most one blank line. A reader's choice (markdown-spec.test.tsx):
          // bullets indented past a numbered item's marker but short of its text still nest in it.
          blank
          ? b._kids.length
            ? (toNext(), 0)
            : 1
          : indent >= b._pad!
            ? (skip(b._pad!), 0)
            : indent > b._col! && b._up!._n! >= 0 && at(BULLET)
              ? (skip(indent), 0)
              : 1
        : type == 'c'
          ? b._close
            ? indent < 4 && at(b._close)
              ? ((b._last = lineNo), close(), 2)
              : (skip(b._fenceCol!), 0)
            : indent > 3
              ? (skip(4), 0)
              : blank
                ? (toNext(), 0)
                : 1
          : type == 'p' || type == 't'
            ? +blank
            : +(type != 'l');
  };

  /**
   * Tries to start a block at the next non-space character, inside `container`: 0 none,
   * 1 a container (look for more inside it), 2 a leaf (the line is its).
   */
  const start = (container: Block, depth: number, closeUnmatched: () => void): number => {
    let m: RegExpExecArray | null;
    /** A leaf that takes the whole line: a heading, a fence, a rule. */
    const leaf = (type: BlockType) => (closeUnmatched(), (off = ln.length), addBlock(type));
    if (indent > 3) {
      if (tip._type == 'p' || blank) return 0;
      skip(4);
      closeUnmatched();
      addBlock('c');
      return 2;
    }
    if (depth < MAX_BLOCK_DEPTH && quoteMarker()) {
      closeUnmatched();
      addBlock('q');
      return 1;
    }
    if ((m = at(ATX))) {
      leaf('h')._n = m[0].length;
      tip._text = ln.slice(next + m[0].length).trim();
      return 2;
    }
    if ((m = at(FENCE))) {
      const code = leaf('c');
      code._close = RegExp(`${m[0][0]}{${m[0].length},}[ \\t]*$`, 'y');
      code._fenceCol = indent;
      code._info = unescape(ln.slice(next + m[0].length).trim());
      return 2;
    }
    if (container._type == 'p') {
      const text = container._text;
      const head = container._line!;
      const align = alignments(ln.slice(next));
      // A GFM table: the paragraph's last line is its header row, with as many cells. (Only that
      // line is looked at: the paragraph grows line by line, and reading it whole on every line
      // would take time quadratic in its length.)
      if (align && splitRow(head).length == align.length) {
        container._text = text.slice(0, -head.length - 1);
        leaf('t')._align = align;
        addBlock('w')._text = head;
        close();
        return 2;
      }
      if ((m = at(SETEXT))) {
        closeUnmatched();
        if ((container._text = takeDefinitions(text))) {
          container._type = 'h';
          container._n = ln[next] == '=' ? 1 : 2;
          container._last = lineNo;
          off = ln.length;
          return 2;
        }
      }
    }
    if (at(BREAK)) {
      leaf('r');
      return 2;
    }
    // A list item (§5.2); it may interrupt a paragraph whatever its number (see markdown-spec.test.tsx).
    if (depth < MAX_BLOCK_DEPTH && (m = at(ITEM))) {
      const col0 = indent;
      const width = m[0].length;
      off = next + width;
      col = nextCol + width;
      findNext();
      // Five or more spaces start indented code inside the item, and a blank item's content goes
      // on the next line: either way its content starts one column past the marker.
      const spaces = blank || indent > 4 ? 1 : indent;
      skip(spaces);
      closeUnmatched();
      const marker = m[0].at(-1);
      if (tip._type != 'l' || tip._marker != marker) {
        addBlock('l')._n = m[1] ? +m[1] : NaN;
        tip._marker = marker;
      }
      const item = addBlock('i');
      item._col = col0;
      item._pad = col0 + width + spaces;
      return 1;
    }
    return 0;
  };

  const add = (line: string) => {
    ln = line.replace(/\0/g, '\uFFFD');
    off = col = 0;
    next = -1;
    lineNo++;
    const oldTip = tip;
    let container = doc;
    let depth = 0;
    let b: Block | undefined;
    let result = 0;
    // 1. Which open blocks does this line continue?
    while ((b = container._kids.at(-1))?._open) {
      step();
      findNext();
      if ((result = goesOn(b))) break;
      container = b;
      if (/[qi]/.test(b._type)) depth++;
    }
    if (result > 1) return;
    const matched = container;
    let closedUnmatched = container == oldTip;
    const closeUnmatched = () => {
      while (!closedUnmatched && tip != matched) close();
      closedUnmatched = true;
    };
    // 2. Does it start new blocks?
    for (let started = +(container._type == 'c'); !started; depth++) {
      step();
      findNext();
      if (!(started = start(container, depth, closeUnmatched))) {
        toNext();
        break;
      }
      container = tip;
      started--;
    }
    // 3. The rest of the line: a lazy continuation of an open paragraph, or the open leaf's text.
    if (!closedUnmatched && !blank && tip._type == 'p') addText(tip);
    else {
      closeUnmatched();
      const type = container._type;
      // (A heading, rule, fence or table's first row took the whole line: `off` is at its end.)
      if (!blank && off < ln.length && type == 't') {
        addBlock('w')._text = ln.slice(off);
        close();
      } else if (type == 'p' || (type == 'c' && (blank || off < ln.length))) addText(container);
      else if (!blank && off < ln.length) addText(addBlock('p'));
    }
  };

  const addText = (b: Block) => {
    b._text += (b._line = ln.slice(off)) + '\n';
    if (b._type != 'c' || b._close || !blank) {
      b._last = lineNo;
      b._keep = b._text.length - 1;
    }
  };

  return {
    add,
    view(partial, read) {
      // Save what closing the document can change: the open blocks (each is the last child of
      // the one before; every property a line can change exists from the start) and the
      // definitions. Blocks closed before are not touched; new blocks hang below the open ones.
      const saved: [Block, Block, number][] = [];
      for (let b: Block | undefined = doc; b?._open; b = b._kids.at(-1)) saved.push([b, { ...b }, b._kids.length]);
      const [savedTip, savedLine, savedDefs] = [tip, lineNo, order.length];
      settled = false;
      if (partial) add(partial);
      while (tip != doc) close();
      try {
        return read(doc, refs);
      } finally {
        for (const [b, copy, length] of saved) Object.assign(b, copy)._kids.length = length;
        for (const label of order.splice(savedDefs)) {
          defs.delete(label);
          refs._epoch++;
        }
        [tip, lineNo, settled] = [savedTip, savedLine, true];
      }
    },
  };
}
