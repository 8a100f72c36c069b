/**
 * GFM table rows (GFM §4.10): cells split on pipes that are not escaped, the outer pipes optional.
 * `\|` is a pipe inside a cell, even inside a code span, so it is replaced before inline parsing.
 * (Each pattern looks at one or two characters per position: linear.)
 */
export const splitRow = (row: string): string[] =>
  row
    .trim()
    .replace(/^\||(?<!\\)\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));

/** A delimiter row: cells of dashes with an optional colon at either end, and at least one pipe. */
export const isDelimiterRow = (s: string): boolean => /^[|:\- \t]*$/.test(s) && s.includes('|') && splitRow(s).every((cell) => /^:?-+:?$/.test(cell));
