import { effect, type ReadonlySignal } from '@preact/signals';
import { h, type JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createMarkdownRenderer } from './markdown-renderer.js';

export interface MarkdownProps {
  /** The reply's text; it may keep growing while the reply streams. */
  source: ReadonlySignal<string>;
  /** The code blocks' Copy button, and its label for a moment after copying. */
  copyLabel?: string;
  copiedLabel?: string;
}

/**
 * An assistant reply rendered as markdown, safely (vnodes only, raw HTML as text, links only to
 * http, https and mailto) and incrementally: the text is read with `peek()` so a delta does not
 * re-render this component by itself; an effect schedules at most one render per animation frame,
 * and each render parses only the block still being written.
 */
export function Markdown({ source, copyLabel = 'Copy', copiedLabel = 'Copied' }: MarkdownProps): JSX.Element {
  const render = useMemo(() => createMarkdownRenderer({ copy: copyLabel, copied: copiedLabel }), [copyLabel, copiedLabel]);
  const [nodes, setNodes] = useState(() => render(source.peek()));
  useEffect(() => {
    let frame = 0;
    const stop = effect(() => {
      void source.value;
      frame ||= requestAnimationFrame(() => {
        frame = 0;
        setNodes(render(source.peek()));
      });
    });
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
  }, [source, render]);
  return <div class="cd-md">{nodes}</div>;
}
