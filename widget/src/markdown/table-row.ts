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

/** A delimiter row's alignments (cells of dashes, a colon at either end or none; a pipe somewhere), or undefined. */
export const alignments = (s: string): (string | undefined)[] | undefined => {
  const cells = /^[|:\- \t]*$/.test(s) && s.includes('|') && splitRow(s);
  return cells && cells.every((cell) => /^:?-+:?$/.test(cell)) ? cells.map((cell) => ({ '::': 'center', ':-': 'left', '-:': 'right' })[cell[0]! + cell.at(-1)]) : undefined;
};
