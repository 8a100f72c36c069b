import { useSignal, type ReadonlySignal } from '@preact/signals';
import { Fragment, h, type ComponentChildren, type JSX, type VNode } from 'preact';
import { useMemo } from 'preact/hooks';
import type { CodeLabels } from './code-block.js';
import { closesFence, FENCE, parseBlock } from './parse-blocks.js';
import { useFrameEffect } from '../use-frame-effect.js';

export interface MarkdownProps {
  /** The reply's text; it may keep growing while the reply streams. */
  source: ReadonlySignal<string>;
  /**
   * The code blocks' Copy button, and its label for a moment after copying: the widget passes its
   * strings table (`Strings` has both); English by default.
   */
  labels?: CodeLabels;
}

const ENGLISH: CodeLabels = { copy: 'Copy', copied: 'Copied' };

/**
 * An assistant reply rendered as markdown, safely (vnodes only, raw HTML as text, links only to
 * http, https and mailto) and incrementally: the text is read with `peek()` so a delta does not
 * re-render this component by itself; a subscription schedules at most one render per animation
 * frame, and each render parses only the block still being written.
 */
export function Markdown({ source, labels = ENGLISH }: MarkdownProps): JSX.Element {
  const render = useMemo(() => createRenderer(labels), [labels]);
  // Bumped once per frame; reading it below is what re-renders this component (a signal, not
  // useState, so Preact's useState stays out of widget.js: see use-copy.ts).
  const frames = useSignal(0);
  useFrameEffect(() => source.value, () => frames.value++, [source]);
  void frames.value;
  return <div class="cd-md">{render(source.peek())}</div>;
}

/**
 * Turns each value of a growing markdown text into the children to render (issue 4: the cost of
 * a delta does not grow with the answer). The text is split into blocks at blank lines outside
 * code fences; a block followed by a blank line is finished, since streaming only appends. Each
 * block becomes a keyed Fragment vnode, made once: Preact skips diffing a vnode it has seen
 * before, so a finished block costs nothing on later renders and keeps its DOM. Only the open
 * (last) block is scanned and parsed again, and it is not parsed once more when it closes.
 */
function createRenderer(labels: CodeLabels): (source: string) => ComponentChildren {
  let prev = '';
  /** Where the open block starts: everything before it is in `done`. */
  let end = 0;
  let done: VNode[] = [];
  let last: [start: number, text: string, vnode: VNode] = [0, '', h(Fragment, null)];
  let shown: ComponentChildren;
  const block = (start: number, text: string) =>
    last[0] == start && last[1] == text ? last[2] : (last = [start, text, h(Fragment, { key: start }, parseBlock(text, labels))])[2];
  return (source) => {
    if (source != prev) {
      // Comparing the open tail alone tells an append from a new text (a reset, a replaced answer)
      // without an O(answer) comparison; a new text starts over.
      if (!source.startsWith(prev.slice(end), end)) {
        done = [];
        end = 0;
      }
      prev = source;
      let fence = '';
      // Boundaries are only ever outside fences, so the scan starts outside one. A partial last
      // line (no newline yet) is never judged: it stays in the open block.
      for (let pos = end, nl; (nl = source.indexOf('\n', pos)) >= 0; pos = nl + 1) {
        const line = source.slice(pos, nl);
        if (fence) fence = closesFence(line, fence) ? '' : fence;
        else if (line.trim()) fence = FENCE.exec(line)?.[2] ?? '';
        else {
          if (pos > end) done.push(block(end, source.slice(end, pos).trimEnd()));
          end = nl + 1;
        }
      }
      const open = source.slice(end).trimEnd();
      shown = done.concat(open ? block(end, open) : []);
    }
    return shown;
  };
}
