import { h, type ComponentChild } from 'preact';
import { CodeBlock, type CodeLabels } from './markdown-code-block.js';
import { fenceCloses, fenceOpen } from './markdown-fence.js';
import { parseInline } from './markdown-inline.js';

/**
 * One block of markdown source (no blank lines outside fences, see markdown-blocks.ts) to Preact
 * children: headings, paragraphs, lists (nested by indentation), fenced code, GFM tables,
 * blockquotes and rules. Blank lines are still handled, because a blockquote's inner text or a
 * list item's fence can contain them. No indented code blocks: models fence their code, and
 * indentation in chat text is more often a sloppy continuation than code.
 */
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( *)(?:[-*+]|(\d{1,9})[.)])(?:( {1,4})(.*))?$/;
const DELIMITER = /^ *\|? *:?-+:? *(?:\| *:?-+:? *)*\|? *$/;

export function parseBlock(text: string, labels: CodeLabels): ComponentChild[] {
  return blocks(text.split(/\r?\n/), labels, false);
}

function blocks(lines: string[], labels: CodeLabels, tight: boolean): ComponentChild[] {
  const out: ComponentChild[] = [];
  for (let i = 0; i < lines.length; ) {
    const line = lines[i]!;
    const fence = fenceOpen(line);
    let m: RegExpExecArray | null;
    if (!line.trim()) i++;
    else if (fence) {
      const code: string[] = [];
      // Unterminated while streaming: the code so far is still a code block.
      while (++i < lines.length && !fenceCloses(lines[i]!, fence.marker)) code.push(dedent(lines[i]!, fence.indent));
      i++;
      out.push(h(CodeBlock, { code: code.join('\n'), lang: fence.info.split(/\s/)[0]!, labels }));
    } else if ((m = HEADING.exec(line))) {
      out.push(h(`h${m[1]!.length}`, null, parseInline(m[2] ?? '')));
      i++;
    } else if (RULE.test(line)) {
      out.push(h('hr', null));
      i++;
    } else if (QUOTE.test(line)) {
      const inner: string[] = [];
      for (; i < lines.length && (m = QUOTE.exec(lines[i]!)); i++) inner.push(m[1]!);
      out.push(h('blockquote', null, blocks(inner, labels, false)));
    } else if (isTable(lines, i)) i = table(lines, i, out);
    else if (ITEM.test(line)) i = list(lines, i, out, labels);
    else {
      let end = i + 1;
      while (end < lines.length && lines[end]!.trim() && !interrupts(lines, end)) end++;
      const kids = parseInline(lines.slice(i, end).map((l) => l.trimStart()).join('\n').trimEnd());
      // In a tight list item the first paragraph is bare text, as CommonMark renders it.
      out.push(tight && !out.length ? kids : h('p', null, kids));
      i = end;
    }
  }
  return out.flat();
}

/** Whether line `i` starts a new block and so ends a paragraph. */
function interrupts(lines: string[], i: number): boolean {
  const line = lines[i]!;
  return !!(fenceOpen(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.exec(line)?.[4]?.trim() || isTable(lines, i));
}

function dedent(line: string, indent: number): string {
  let n = 0;
  while (n < indent && line[n] === ' ') n++;
  return line.slice(n);
}

function list(lines: string[], i: number, out: ComponentChild[], labels: CodeLabels): number {
  const first = ITEM.exec(lines[i]!)!;
  const indent = first[1]!.length;
  const ordered = first[2] !== undefined;
  const items: ComponentChild[] = [];
  let m: RegExpExecArray | null;
  while (i < lines.length && (m = ITEM.exec(lines[i]!)) && m[1]!.length <= indent + 1 && (m[2] !== undefined) === ordered) {
    // Continuation lines are dedented by the item's content column (1 space if the marker was
    // followed by more than four, as CommonMark says) so nested blocks parse like top-level ones.
    const width = m[0].length - (m[4] ?? '').length;
    const content = [m[4] ?? ''];
    for (i++; i < lines.length; i++) {
      const line = lines[i]!;
      const lead = line.length - line.trimStart().length;
      const sibling = ITEM.exec(line);
      if (sibling && sibling[1]!.length <= indent + 1) break;
      if (!line.trim()) {
        // A blank line inside the block (a fence in the item) continues the item only if the
        // text after it is indented under the item.
        const after = lines.slice(i + 1).find((l) => l.trim());
        if (!after || after.length - after.trimStart().length <= indent) break;
      } else if (lead <= indent && interrupts(lines, i)) break;
      content.push(dedent(line, Math.min(width, lead)));
    }
    items.push(h('li', null, blocks(content, labels, true)));
  }
  const start = Number(first[2] ?? 1);
  out.push(h(ordered ? 'ol' : 'ul', start !== 1 ? { start } : null, items));
  return i;
}

function isTable(lines: string[], i: number): boolean {
  const head = lines[i]!;
  const delimiter = lines[i + 1];
  return !!delimiter && head.includes('|') && delimiter.includes('|') && DELIMITER.test(delimiter) && cells(head).length === cells(delimiter).length;
}

/** Splits a table row on unescaped pipes (GFM: `\|` is a pipe inside a cell, even in code). */
function cells(row: string): string[] {
  let s = row.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

function table(lines: string[], i: number, out: ComponentChild[]): number {
  const head = cells(lines[i]!);
  const align = cells(lines[i + 1]!).map((c) => (c.endsWith(':') ? (c.startsWith(':') ? 'center' : 'right') : c.startsWith(':') ? 'left' : undefined));
  const row = (r: string[], tag: string) => h('tr', null, head.map((_, k) => h(tag, { align: align[k] }, parseInline(r[k] ?? ''))));
  const body: ComponentChild[] = [];
  for (i += 2; i < lines.length && lines[i]!.includes('|'); i++) body.push(row(cells(lines[i]!), 'td'));
  // The wrapper scrolls a wide table sideways; focusable so keyboard users can scroll it (WCAG 2.1.1).
  out.push(h('div', { class: 'cd-md-table', tabIndex: 0 }, h('table', null, h('thead', null, row(head, 'th')), body.length ? h('tbody', null, body) : null)));
  return i;
}
