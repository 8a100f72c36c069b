import { step } from './work.js';

/**
 * GFM table rows (GFM §4.10): cells split on pipes that are not escaped, the outer pipes optional.
 * `\|` is a pipe inside a cell, even inside a code span, so it is replaced before inline parsing.
 */
export function splitRow(row: string): string[] {
  const s = row.trim();
  const cells: string[] = [];
  let cell = '';
  let ended = false;
  for (let i = s[0] == '|' ? 1 : 0; i < s.length; i++) {
    step();
    ended = s[i] == '|';
    if (ended) {
      cells.push(cell.trim());
      cell = '';
    } else cell += s[i] == '\\' && s[i + 1] == '|' ? s[++i] : s[i];
  }
  if (!ended) cells.push(cell.trim());
  return cells;
}

/** A delimiter row: cells of dashes with an optional colon at either end, and at least one pipe. */
export const isDelimiterRow = (s: string): boolean => /^[|:\- \t]*$/.test(s) && s.includes('|') && splitRow(s).every((cell) => /^:?-+:?$/.test(cell));
