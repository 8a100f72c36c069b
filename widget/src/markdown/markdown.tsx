/** @jsx h */ // (the widget's own setting, spelled out for tools that read this file outside its build: the bench)
import { useSignal, type ReadonlySignal } from '@preact/signals';
import { h, type ComponentChildren, type JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import type { CodeLabels } from './code-block.js';
import { blockParser } from './parse-blocks.js';
import { blockRenderer } from './render-blocks.js';
import { en } from '../strings.js';
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

/** The widget's English strings hold the code blocks' labels too (one copy of the words in widget.js). */
const ENGLISH: CodeLabels = en;

/**
 * An assistant reply rendered as markdown, safely (vnodes only, raw HTML as text, links only to
 * http, https and mailto) and incrementally: the text is read with `peek()` so a delta does not
 * re-render this component by itself; a subscription schedules at most one render per animation
 * frame, and each render parses only the new lines and the blocks still open.
 */
export function Markdown({ source, labels = ENGLISH }: MarkdownProps): JSX.Element {
  const shown = useMemo((): Shown => ({ _render: createRenderer(labels), _text: '' }), [labels]);
  // Bumped once per frame; reading it below is what re-renders this component (a signal, not
  // useState, so Preact's useState stays out of widget.js: see use-copy.ts).
  const frames = useSignal(0);
  // One render a frame, while there is text it has not shown: a new delta, or the rest of a burst.
  // (The effect reads `frames`, so each bump asks for the next frame, whose callback bumps again
  // only if text is still unshown. A second trigger of its own would render twice in some frames.)
  useFrameEffect(() => (source.value, frames.value), () => shown._text != source.peek() && frames.value++, [source, shown]);
  void frames.value;
  const text = source.peek();
  // At most STEP more characters a frame: a burst (a resumed reply replayed, a long answer that
  // arrived at once) shows over a few frames instead of in one long task. (A reply that starts
  // over is emptied first, so a shorter text means a new one.)
  const upTo = (text.length < shown._text.length ? 0 : shown._text.length) + STEP;
  shown._text = text.slice(0, upTo);
  latest = shown;
  return <div class="md">{shown._render(shown._text, upTo < text.length)}</div>;
}

/**
 * Characters of new text shown per frame at most: far more than a model streams (a few hundred a
 * second, so a streamed reply shows as it comes; a burst shows at 30,000 a second), few enough
 * that the elements they make (a few dozen table rows, a few hundred emphases) are made, styled
 * and laid out well within a frame on a slow machine. (In Chromium on 2 shared cores, a frame of
 * 1,024 characters of table rows with code and emphasis took 30-50 ms, and now and then crossed 50.)
 */
export const STEP = 512;

interface Shown {
  _render: (source: string, hurry?: boolean) => ComponentChildren;
  _text: string;
}

/**
 * The renderer that last showed a reply, and the text it showed. When a reply ends, what a screen
 * reader hears of it (plain-text.ts) comes from there: that renderer has parsed all but the last
 * deltas, and parsing the whole reply again would be a long task at the end of every long reply.
 */
export let latest: Shown | undefined;

/**
 * Turns each value of a growing markdown text into the children to render, with a cost per
 * delta that does not grow with the answer: each complete line goes through the block parser
 * once; the line still being written is parsed on a view that is then taken back
 * (`BlockParser.view`); only open blocks are rendered again (render-blocks.ts keeps the rest).
 * `hurry`: more of the text is waiting to be shown (a burst shown a frame at a time), so a long
 * paragraph still open may show as it was a moment ago (render-blocks.ts); a call without it
 * shows everything as it is.
 */
export function createRenderer(labels: CodeLabels = ENGLISH): (source: string, hurry?: boolean) => ComponentChildren {
  let parser = blockParser();
  /** Where the line still being written starts: everything before it went through `parser.add`. */
  let done = 0;
  let prev = '';
  let shown: ComponentChildren;
  const render = blockRenderer(labels);
  return (source, hurry) => {
    if (source != prev) {
      // Comparing the open line alone tells an append from a new text (a reset, a replaced
      // answer) without an O(answer) comparison; a new text starts over.
      if (!source.startsWith(prev.slice(done), done)) {
        parser = blockParser();
        done = 0;
      }
      prev = source;
      for (let nl; (nl = source.indexOf('\n', done)) >= 0; done = nl + 1) parser.add(source.slice(done, source[nl - 1] == '\r' ? nl - 1 : nl));
      shown = parser.view(source.slice(done), (doc, refs) => render(doc, refs, hurry));
    }
    return shown;
  };
}

