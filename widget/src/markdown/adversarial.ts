/**
 * Inputs built to make a markdown parser rescan: each shape, `n` characters long (about). Used by
 * markdown-linear.test.ts (steps counted at 10k and 100k) and by the bench (bench/markdown.ts,
 * timed at 1k, 10k and 100k against markdown-it, marked and micromark). Test code: not in widget.js.
 */
const fill = (unit: string, n: number) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);

/** Backtick runs of every length 1, 2, 3...: a naive code span matcher rescans for each. */
const backtickRuns = (n: number) => {
  let s = '';
  for (let k = 1; s.length < n; k++) s += 'a' + '`'.repeat(k);
  return s.slice(0, n);
};

export const SHAPES: Record<string, (n: number) => string> = {
  'unclosed *a': (n) => fill('*a ', n),
  'nested emphasis': (n) => fill('*a **a _a __a ', n / 2) + fill('a__ a_ a** a* ', n / 2),
  'runs of [': (n) => fill('[', n),
  'runs of [a](x': (n) => fill('[a](x', n),
  'runs of ![a][': (n) => fill('![a][', n),
  'unclosed titles': (n) => fill('[a](b "c ', n),
  'backtick runs 1, 2, 3...': backtickRuns,
  'runs of *': (n) => fill('a*****', n),
  'runs of _': (n) => fill('a_____ ', n),
  'runs of ~': (n) => fill('a~~', n),
  'runs of |': (n) => fill('|', n) + '\n' + fill('|-', n),
  'runs of #': (n) => fill('#', n),
  'runs of <': (n) => fill('<a:b', n),
  'runs of &': (n) => fill('&#x', n),
  '# a, spaces, a': (n) => '# a' + ' '.repeat(n) + 'a',
  'spaces then x': (n) => ' '.repeat(n) + 'x',
  'deep quotes': (n) => fill('> ', n) + 'x',
  'deep lists': (n) => fill('1. ', n) + 'x',
  'indented list lines': (n) => Array.from({ length: Math.sqrt(n) }, (_, k) => ' '.repeat(k) + '- x').join('\n'),
  'long table': (n) => '| a | b | c |\n|---|:-:|--:|\n' + fill('| *c* | `d` | e |\n', n),
  'long line': (n) => fill('word **bold** [link](https://example.com) ', n),
  'www and email autolinks': (n) => fill('www.a.b/c(( a@b.c@d.e ', n),
  'link reference labels': (n) => fill('[a]: b\n[a] ', n),
  /** A paragraph of many lines: reading its text back on each line (a rope flattened) is quadratic. */
  'many short lines': (n) => fill('a\n', n),
  'open images, then links': (n) => fill('![', n / 2) + fill('[a](x)', n / 2),
  'invalid www. and http:// after (': (n) => fill('(www._a._a(http://a_b.c_d', n),
};
