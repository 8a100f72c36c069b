import { signal } from '@preact/signals';
import { h } from 'preact';
import { useMemo } from 'preact/hooks';
// The widget's own safe renderer: vnodes only, raw HTML shown as text, links only to http, https
// and mailto.
import { Markdown } from '../../../widget/src/markdown/markdown.js';

/** A stored assistant reply, rendered exactly as the visitor saw it in the widget. */
export function ReplyMarkdown({ text }: { text: string }) {
  const source = useMemo(() => signal(text), [text]);
  return <Markdown source={source} />;
}
