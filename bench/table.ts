import type { Figure } from './figure.js';

const COLUMNS = ['figure', 'value', 'baseline', 'ratio', 'target', 'verdict'] as const;

/**
 * The one table `pnpm bench` prints: Markdown, so it pastes into the README unchanged.
 * A missed target says by how much, as the issue asks.
 */
export function formatTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.figure,
    f.value === null ? '—' : `${formatNumber(f.value)} ${f.unit}`,
    f.baseline === '' ? '' : `${f.baseline}${f.baselineValue === null ? '' : `: ${formatNumber(f.baselineValue)} ${f.unit}`}`,
    f.ratio === null ? '' : `${f.ratio}×`,
    f.target,
    verdict(f),
  ]);
  const header = [...COLUMNS];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function verdict(f: Figure): string {
  if (f.value === null) return f.note;
  const mark = f.met === true ? 'met' : f.met === false ? 'MISSED' : '';
  return [mark, f.note].filter((s) => s !== '').join('; ');
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 1) return n.toFixed(1);
  return n.toPrecision(2);
}
