import { h, type ComponentChildren, type VNode } from 'preact';
import { CodeBlock, type CodeLabels } from './code-block.js';
import type { Block, Refs } from './parse-blocks.js';
import { parseInline } from './parse-inline.js';
import { splitRow } from './table-row.js';

/** A task list item's box (GFM §5.3): `[ ]` or `[x]` and a space at the start of its first paragraph. */
const TASK = /^\[([ xX])\][ \t]/;

/**
 * Every block renders inside one of these. Preact skips a component's vnode that it rendered
 * before (the same object, its `_original`) without looking inside; an element's vnode it diffs
 * again, all the way down. So a finished block keeps its vnode and costs nothing on later renders.
 */
const Kept = (props: { children?: ComponentChildren }) => props.children;

/**
 * The document's blocks to Preact vnodes, each block's kept once it is closed for good
 * (`_done`) and made again only when what it depends on changes: the looseness of the list
 * around it (a later item can make a list loose, once), or, for a block that looked up a
 * reference label it could not settle, the definitions. Open blocks (the last of each level)
 * are made again on every call; the leaf among them is the only text parsed again.
 */
export function blockRenderer(labels: CodeLabels): (doc: Block, refs: Refs, hurry?: boolean) => ComponentChildren {
  // The paragraphs and headings made in the last call, by what they were made from: an open one
  // is rendered again on every call, and once it closes, once more; this keeps its text from
  // being parsed again when it has not changed (and Preact from diffing it again).
  let last = new Map<string, VNode>();
  /** The last long paragraph or heading made while open, and what it was made from. */
  let long: [string, VNode] | undefined;
  return (doc, refs, hurry) => {
    const now = new Map<string, VNode>();
    let missed = false;
    const lookUp = (label: string) => {
      const def = refs._get(label);
      missed ||= !def?.[1];
      return def?.[0];
    };
    const inline = (text: string) => parseInline(text, lookUp);

    const render = (b: Block, tight?: boolean): ComponentChildren => {
      const outer = missed;
      let vnode = b._vnode as VNode | undefined;
      if (!vnode || b._tight !== tight || (b._missed && b._epoch != refs._epoch)) {
        const key = /[ph]/.test(b._type) && b._type + tight + (b == b._up!._kids[0]) + b._text;
        missed = false;
        vnode = key ? last.get(key) : undefined;
        // While a burst of text is shown (`hurry`: a long answer that arrived at once, a resumed
        // one replayed), a long paragraph still being written is parsed and laid out again only
        // once it has doubled: each frame would otherwise take time in its whole length, a long
        // task past a few thousand characters, and time quadratic in all. Until then it shows as
        // it was; the call that shows the end of the burst shows it whole. Only while it is open:
        // a closed one is made whole, since the container around it may keep what it is made of.
        if (!vnode && hurry && long && key && !b._done && key.startsWith(long[0]) && key.length < 2 * long[0].length) return (missed = outer), long[1];
        if (!vnode) {
          vnode = h(Kept, null, build(b, tight));
          // (Its key less the line ending: the next delta may go on with the same line.)
          if (key && key[4e3]) long = [key.slice(0, -1), vnode];
        }
        if (key && !missed) now.set(key, vnode);
        if (b._done) {
          b._vnode = vnode;
          b._tight = tight;
          b._epoch = refs._epoch;
          b._missed = missed;
        }
      } else missed = b._missed!;
      missed ||= outer;
      return vnode;
    };

    /** A container's children; a paragraph in a tight list's item shows without its `<p>`. */
    const kids = (b: Block, tight?: boolean) => b._kids.map((kid) => render(kid, /[pi]/.test(kid._type) ? tight : undefined));

    const build = (b: Block, tight?: boolean): ComponentChildren => {
      const { _type: type, _n: n, _up: up } = b;
      const text = b._text.trim();
      if (type == 'c') return h(CodeBlock, { code: b._close ? b._text.slice(0, -1) : b._text.slice(0, b._keep), lang: b._info?.split(/\s/)[0] ?? '', labels });
      if (type == 'w') {
        const cells = splitRow(b._text);
        return h('tr', null, up!._align!.map((align, k) => h(b == up!._kids[0] ? 'th' : 'td', { align }, inline(cells[k] ?? ''))));
      }
      if (/[ph]/.test(type)) {
        const task = type == 'p' && b == up!._kids[0] && up!._type == 'i' && TASK.exec(text);
        const content = [task && h('input', { type: 'checkbox', disabled: true, checked: task[1] != ' ' }), inline(task ? text.slice(3) : text)];
        return type == 'h' ? h('h' + n, null, content) : !text ? null : tight ? content : h('p', null, content);
      }
      const content = kids(b, type == 'l' ? !b._loose : tight);
      return type == 'd'
        ? content
        : type == 't'
          ? // The wrapper scrolls a wide table sideways; focusable so keyboard users can scroll it (WCAG 2.1.1).
            h('div', { class: 'tbl', tabIndex: 0 }, h('table', null, h('thead', null, content[0]), content[1] && h('tbody', null, content.slice(1))))
          : type == 'l'
            ? h(n! >= 0 ? 'ol' : 'ul', { start: n != 1 && n! >= 0 ? n : undefined }, content)
            : h(({ q: 'blockquote', i: 'li', r: 'hr' } as Record<string, string>)[type]!, null, content);
    };
    const children = render(doc);
    last = now;
    return children;
  };
}
