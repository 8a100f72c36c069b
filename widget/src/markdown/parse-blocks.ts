import { h, type ComponentChildren } from 'preact';
import { CodeBlock, type CodeLabels } from './code-block.js';
import { parseInline } from './parse-inline.js';

/**
 * A code fence's opening line (CommonMark §4.5): indent, three or more backticks or tildes, and
 * the language. A backtick fence's info string may not contain a backtick, so "```x```" on one
 * line is inline code. Shared with the block splitter (markdown.tsx), so both agree on fences.
 */
export const FENCE = /^(\s*)(`{3,}(?!.*`)|~{3,})\s*(\S*)/;

/** Whether `line` closes a fence opened with `marker`: the same character, at least as many, alone on its line. */
export const closesFence = (line: string, marker: string) => RegExp(`^\\s*${marker}+\\s*$`).test(line);

const HEADING = /^\s*(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const RULE = /^\s*([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^\s*> ?(.*)/;
const ITEM = /^( *)(?:[-*+]|(\d{1,9})[.)])(?: +|$)(.*)/;
/**
 * How deep quotes and lists nest before the rest shows as text: a thousand nested elements
 * overflow the stack while Preact renders them, and a prompt injection can ask for `> > > ...`.
 */
const MAX_DEPTH = 20;
const DELIMITER = /^[\s|:]*-[\s|:-]*$/;

/** Columns of indentation before the first non-blank character. */
const lead = (line: string) => line.search(/\S|$/);

/**
 * One block of markdown source (no blank lines outside fences, see markdown.tsx) to Preact
 * children: headings, paragraphs, lists (nested by indentation), fenced code, GFM tables,
 * blockquotes and rules. No indented code blocks: models fence their code, and indentation in
 * chat text is more often a sloppy continuation than code. No setext headings either: `---`
 * under a line is a rule.
 */
export function parseBlock(text: string, labels: CodeLabels): ComponentChildren[] {
  return blocks(text.split(/\r?\n/), labels, 0);
}

function blocks(lines: string[], labels: CodeLabels, depth: number, tight?: boolean): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  if (depth > MAX_DEPTH) return [lines.join('\n')];
  for (let i = 0, m; i < lines.length; ) {
    const line = lines[i]!;
    if (!line.trim()) i++;
    else if ((m = FENCE.exec(line))) {
      const [, indent, marker, lang] = m;
      const code: string[] = [];
      // Unterminated while streaming: the code so far is still a code block.
      while (++i < lines.length && !closesFence(lines[i]!, marker!)) code.push(lines[i]!.slice(Math.min(indent!.length, lead(lines[i]!))));
      i++;
      out.push(h(CodeBlock, { code: code.join('\n'), lang: lang!, labels }));
    } else if ((m = HEADING.exec(line))) {
      out.push(h('h' + m[1]!.length, null, parseInline(m[2]!)));
      i++;
    } else if (RULE.test(line)) {
      out.push(h('hr', null));
      i++;
    } else if (QUOTE.test(line)) {
      const inner: string[] = [];
      for (; i < lines.length && (m = QUOTE.exec(lines[i]!)); i++) inner.push(m[1]!);
      out.push(h('blockquote', null, blocks(inner, labels, depth + 1)));
    } else if (isTable(lines, i)) i = table(lines, i, out);
    else if (ITEM.test(line)) i = list(lines, i, out, labels, depth);
    else {
      let end = i + 1;
      while (end < lines.length && lines[end]!.trim() && !interrupts(lines, end)) end++;
      const kids = parseInline(lines.slice(i, end).map((l) => l.trimStart()).join('\n').trimEnd());
      // In a tight list item the first paragraph is bare text, as CommonMark renders it.
      out.push(tight && !out.length ? kids : h('p', null, kids));
      i = end;
    }
  }
  return out;
}

/** Whether line `i` starts a new block and so ends a paragraph (a list item only if it has text). */
function interrupts(lines: string[], i: number): unknown {
  const line = lines[i]!;
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.exec(line)?.[3] || isTable(lines, i);
}

function list(lines: string[], i: number, out: ComponentChildren[], labels: CodeLabels, depth: number): number {
  const [, indent, start] = ITEM.exec(lines[i]!)!;
  const items: ComponentChildren[] = [];
  let m;
  while ((m = ITEM.exec(lines[i] ?? '')) && m[1]!.length <= indent!.length && !m[2] == !start) {
    // Continuation lines are dedented by the item's content column, so nested blocks parse like
    // top-level ones. A line at or left of the marker ends the item if it starts a block (a
    // sibling item) or follows a blank line (which only a fence or a quote can hold here);
    // otherwise it is a lazy continuation of the item's paragraph.
    const width = m[0].length - m[3]!.length;
    const content = [m[3]!];
    for (; ++i < lines.length; ) {
      const line = lines[i]!;
      if (line.trim() && lead(line) <= indent!.length && (!lines[i - 1]!.trim() || interrupts(lines, i))) break;
      content.push(line.slice(Math.min(width, lead(line))));
    }
    items.push(h('li', null, blocks(content, labels, depth + 1, true)));
  }
  out.push(h(start ? 'ol' : 'ul', { start: start && +start != 1 ? +start : undefined }, items));
  return i;
}

function isTable(lines: string[], i: number): unknown {
  const delimiter = lines[i + 1];
  return delimiter && lines[i]!.includes('|') && DELIMITER.test(delimiter) && cells(lines[i]!).length == cells(delimiter).length;
}

/** Splits a table row on unescaped pipes (GFM: `\|` is a pipe inside a cell, even in code). */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\||(?<!\\)\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

function table(lines: string[], i: number, out: ComponentChildren[]): number {
  const head = cells(lines[i]!);
  const align = cells(lines[i + 1]!).map((c) => [, 'left', 'right', 'center'][+(c[0] == ':') + 2 * +c.endsWith(':')]);
  const row = (r: string[], tag: string) => h('tr', null, head.map((_, k) => h(tag, { align: align[k] }, parseInline(r[k] ?? ''))));
  const body: ComponentChildren[] = [];
  for (i += 2; i < lines.length && lines[i]!.includes('|'); i++) body.push(row(cells(lines[i]!), 'td'));
  // The wrapper scrolls a wide table sideways; focusable so keyboard users can scroll it (WCAG 2.1.1).
  out.push(h('div', { class: 'cd-md-table', tabIndex: 0 }, h('table', null, h('thead', null, row(head, 'th')), h('tbody', null, body))));
  return i;
}
