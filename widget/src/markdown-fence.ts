/**
 * Code fence recognition, shared by the block splitter (which must not split inside a fence) and
 * the block parser (which renders it), so both agree on where a fence starts and ends.
 * CommonMark §4.5: three or more backticks or tildes; a backtick fence's info string may not
 * contain a backtick (so "```x```" on one line is inline code, not a fence); the closing fence uses
 * the same character, at least as many of them, and nothing else on its line.
 */
export interface Fence {
  readonly indent: number;
  readonly marker: string;
  readonly info: string;
}

const OPEN = /^(\s*)(`{3,}|~{3,})(.*)$/;
const CLOSE = /^\s*(`{3,}|~{3,})\s*$/;

export function fenceOpen(line: string): Fence | undefined {
  const m = OPEN.exec(line);
  if (!m || (m[2]![0] === '`' && m[3]!.includes('`'))) return undefined;
  return { indent: m[1]!.length, marker: m[2]!, info: m[3]!.trim() };
}

export function fenceCloses(line: string, marker: string): boolean {
  const m = CLOSE.exec(line);
  return !!m && m[1]![0] === marker[0] && m[1]!.length >= marker.length;
}
