import { h } from 'preact';
import type { ReadonlySignal } from '@preact/signals';
import { Markdown } from './markdown.js';
import type { Strings } from './strings.js';

/**
 * An assistant reply: markdown, rendered safely and incrementally by `Markdown` (it subscribes to
 * the signal and coalesces deltas to animation frames), with the code blocks' Copy in our language.
 */
export function AssistantText({ source, t }: { source: ReadonlySignal<string>; t: Strings }) {
  return <Markdown source={source} copyLabel={t.copy} copiedLabel={t.copied} />;
}
