/**
 * Characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"): `=`, `+`,
 * `-`, `@`, tab and carriage return, plus a line feed and the full-width forms some spreadsheet
 * apps also accept. A visitor's message beginning with `=HYPERLINK(...)` must arrive as text.
 */
const FORMULA_START = /^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * One CSV cell (RFC 4180): text always quoted, inner quotes doubled, and a text that a spreadsheet
 * would run as a formula prefixed with `'` (shown as text, and visibly so). Numbers as they are.
 */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return `"${text.replace(/"/g, '""')}"`;
}

export function csvRow(values: readonly (string | number | undefined)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
