import { h, type ComponentChildren } from 'preact';
import { CodeBlock, type CodeLabels } from './code-block.js';
import type { Block, Refs } from './parse-blocks.js';
import { parseInline } from './parse-inline.js';
import { splitRow } from './table-row.js';

/** A task list item's box (GFM §5.3): `[ ]` or `[x]` and a space at the start of its first paragraph. */
const TASK = /^\[([ xX])\][ \t]/;

/**
 * What a block was rendered to, and from what: its type, its text (a leaf's), the looseness of the
 * list around it, the definitions' epoch and whether it missed a definition. Kept beside the
 * block, not on it, so that it outlives `BlockParser.view` taking the block back as it was.
 */
const cache = new WeakMap<Block, [type: string, text: string, tight: boolean | undefined, epoch: number, misses: boolean, vnode: ComponentChildren]>();

/**
 * The document's blocks to Preact vnodes. A block is rendered once and its vnode kept: Preact
 * skips a vnode it has already diffed, so a finished block costs nothing on later renders and
 * keeps its DOM. A kept vnode is made again only when what it depends on changed: a container's
 * children while it is open (`_live`), a leaf's text, the looseness of the list around a paragraph (a later item
 * can make a list loose, once), or, for a block that looked up a reference label it could not
 * settle, the definitions.
 */
export function renderBlocks(doc: Block, refs: Refs, labels: CodeLabels, memo: { _leaves: Map<string, ComponentChildren> }): ComponentChildren {
  let misses = false;
  // Leaves rendered afresh in this call, by what they were made from: the paragraph that a view
  // made of the line still being written is a new block on every call, and once its line is
  // complete, a new one again; this is what keeps it from being parsed once more.
  const leaves = new Map<string, ComponentChildren>();
  const inline = (text: string) =>
    parseInline(text, (label) => {
      const def = refs._get(label);
      misses ||= !def?.[1];
      return def?.[0];
    });

  const render = (b: Block, tight?: boolean): ComponentChildren => {
    let kept = cache.get(b);
    if (!kept || (b._live && !b._text) || kept[0] != b._type || kept[1] != b._text || kept[2] !== tight || (kept[4] && kept[3] != refs._epoch)) {
      const outer = misses;
      const key = /^[ph]$/.test(b._type) && b._type + tight + (b == b._up!._kids[0]) + b._text;
      const made = key && memo._leaves.get(key);
      misses = false;
      cache.set(b, (kept = [b._type, b._text, tight, refs._epoch, false, made || build(b, tight)]));
      kept[4] = misses;
      if (key && !misses) leaves.set(key, kept[5]);
      misses ||= outer;
    }
    misses ||= kept[4];
    return kept[5];
  };

  /** A container's children; a paragraph in a tight list's item shows without its `<p>`. */
  const kids = (b: Block, tight?: boolean) => b._kids.map((kid) => render(kid, /p|item/.test(kid._type) ? tight : undefined));

  const build = (b: Block, tight?: boolean): ComponentChildren => {
    const type = b._type;
    const text = b._text.trim();
    if (type == 'p') {
      const task = b == b._up!._kids[0] && b._up!._type == 'item' && TASK.exec(text);
      const content = [task && h('input', { type: 'checkbox', disabled: true, checked: task[1] != ' ' }), inline(task ? text.slice(3) : text)];
      return tight ? content : h('p', null, content);
    }
    if (type == 'code') return h(CodeBlock, { code: b._close ? b._text.slice(0, -1) : b._text.slice(0, b._keep), lang: b._info?.split(/\s/)[0] ?? '', labels });
    if (type == 'tr') {
      const cells = splitRow(b._text);
      const tag = b == b._up!._kids[0] ? 'th' : 'td';
      return h('tr', null, b._up!._align!.map((align, k) => h(tag, { align }, inline(cells[k] ?? ''))));
    }
    if (type == 'table') {
      const [head, ...body] = kids(b);
      // The wrapper scrolls a wide table sideways; focusable so keyboard users can scroll it (WCAG 2.1.1).
      return h('div', { class: 'cd-md-table', tabIndex: 0 }, h('table', null, h('thead', null, head), body.length ? h('tbody', null, body) : null));
    }
    const n = b._n!;
    return type == 'h'
      ? h('h' + n, null, inline(text))
      : type == 'hr'
        ? h('hr', null)
        : type == 'quote'
          ? h('blockquote', null, kids(b))
          : type == 'list'
            ? h(n >= 0 ? 'ol' : 'ul', { start: n != 1 && n >= 0 ? n : undefined }, kids(b, !b._loose))
            : type == 'item'
              ? h('li', null, kids(b, tight))
              : kids(b);
  };
  const children = render(doc);
  memo._leaves = leaves;
  return children;
}
