import { fenceCloses, fenceOpen } from './markdown-fence.js';

/** One block of markdown source: the text between blank lines (outside fences), and where it starts. */
export interface SourceBlock {
  readonly start: number;
  readonly text: string;
}

export interface SplitResult {
  /** Finished blocks: a blank line outside any fence follows them, so no later text changes them. */
  readonly closed: readonly SourceBlock[];
  /** The block still being written, if it has any text yet. */
  readonly open: SourceBlock | undefined;
}

/**
 * Splits a growing markdown text into blocks at blank lines outside code fences. Streaming only
 * ever appends, so each call scans just the open tail: the cost of a delta does not grow with the
 * answer (issue 4). `closed` keeps its identity while the text grows by appends; any other change
 * (a reset, an edit) starts over with a new array.
 */
export function createBlockSplitter(): (source: string) => SplitResult {
  let closed: SourceBlock[] = [];
  let tail = 0;
  let prev = '';
  return (source) => {
    // Everything before `tail` is finished, so comparing the open tail alone tells an append from
    // a new text without an O(answer) comparison.
    if (source.length < prev.length || !source.startsWith(prev.slice(tail), tail)) {
      closed = [];
      tail = 0;
    }
    prev = source;
    let start = tail;
    let fence: string | undefined;
    // Boundaries are only ever outside fences, so the scan starts outside one. A partial last
    // line (no newline yet) is never judged: it stays in the open block.
    for (let pos = tail, nl; (nl = source.indexOf('\n', pos)) >= 0; pos = nl + 1) {
      const line = source.slice(pos, nl);
      if (fence) {
        if (fenceCloses(line, fence)) fence = undefined;
      } else if (!line.trim()) {
        if (pos > start) closed.push({ start, text: source.slice(start, pos - 1) });
        start = nl + 1;
      } else {
        fence = fenceOpen(line)?.marker;
      }
    }
    tail = start;
    const text = source.slice(start);
    return { closed, open: text.trim() ? { start, text } : undefined };
  };
}
