import { h, type ComponentChild } from 'preact';
import { createBlockSplitter } from './markdown-blocks.js';
import type { CodeLabels } from './markdown-code-block.js';
import { parseBlock } from './markdown-parse.js';

/**
 * A block's rendered children. Its vnode is memoized, and Preact skips diffing a component vnode
 * it has seen before, so a finished block costs nothing on later renders and keeps its DOM.
 */
function Block({ nodes }: { nodes: ComponentChild[] }) {
  return nodes;
}

/**
 * Turns each new value of a streaming markdown text into the children to render. Only the open
 * (last) block is parsed again; every block's vnode is memoized by its start offset and text, so a
 * block is parsed once more at most when it closes and never after (issue 4: the cost of a delta
 * does not grow with the answer).
 */
export function createMarkdownRenderer(labels: CodeLabels): (source: string) => ComponentChild[] {
  const split = createBlockSplitter();
  const memo = new Map<number, { text: string; vnode: ComponentChild }>();
  const block = (start: number, text: string) => {
    const hit = memo.get(start);
    if (hit?.text === text) return hit.vnode;
    const vnode = h(Block, { key: start, nodes: parseBlock(text, labels) });
    memo.set(start, { text, vnode });
    return vnode;
  };
  let closed: unknown;
  let done: ComponentChild[] = [];
  let last: string | undefined;
  let rendered: ComponentChild[] = [];
  return (source) => {
    if (source === last) return rendered;
    last = source;
    const result = split(source);
    if (result.closed !== closed) {
      // A new text rather than an append: rebuild the list, still reusing unchanged blocks.
      closed = result.closed;
      done = [];
    }
    for (const b of result.closed.slice(done.length)) done.push(block(b.start, b.text));
    rendered = result.open ? [...done, block(result.open.start, result.open.text)] : done.slice();
    return rendered;
  };
}
