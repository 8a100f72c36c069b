import MarkdownIt from 'markdown-it';
import { marked } from 'marked';
import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';
// @ts-expect-error: an alias the bench's build sets (bench/markdown.ts): the renderer before, from git, or a stub that throws
import { createRenderer as createBefore } from 'chatdrop-markdown-before';
import { SHAPES } from '../widget/src/markdown/adversarial.ts';
import { createRenderer } from '../widget/src/markdown/markdown.tsx';

/**
 * The markdown timings (bench/markdown.ts), run by plain Node on a Vite bundle of the renderers and
 * the libraries, as a browser runs them: not under tsx, whose loader made the same bundled code
 * 3-5× slower (a paragraph of 50,000 short lines: 33 ms under plain Node, 177 ms under tsx).
 * Prints, for each shape, each contender's milliseconds at 1k, 10k and 100k characters as JSON.
 */
type Parse = (text: string) => unknown;

const SIZES = [1_000, 10_000, 100_000];

/**
 * Milliseconds for each text (1k, 10k, 100k). A size runs only if the one before it took less
 * than its limit, so that a quadratic parser ends in seconds (NaN: not run, or it threw); a run
 * slower than 20 ms is timed once.
 */
function series(parse: Parse, texts: string[], limits: [number, number]): number[] {
  const out: number[] = [];
  for (const [i, text] of texts.entries()) {
    const prev = out[i - 1];
    if (i && !(prev! < limits[i - 1]!)) out.push(NaN);
    else out.push(prev! > 20 ? once(parse, text) : time(parse, text));
  }
  return out;
}

/** Milliseconds for one run, NaN when it throws. */
function once(parse: Parse, text: string): number {
  const t0 = performance.now();
  try {
    parse(text);
  } catch {
    return NaN;
  }
  return performance.now() - t0;
}

/**
 * Milliseconds for one run of `parse` on `text`: the better of two, each repeated up to 10 ms for short
 * inputs. NaN when it throws (marked overflows the stack on deep nesting).
 */
function time(parse: Parse, text: string): number {
  try {
    parse(text);
  } catch {
    return NaN;
  }
  const runs: number[] = [];
  for (let round = 0; round < 2; round++) {
    let n = 0;
    const t0 = performance.now();
    do {
      parse(text);
      n++;
    } while (performance.now() - t0 < 10 && n < 1000);
    runs.push((performance.now() - t0) / n);
  }
  return Math.min(...runs);
}

const mdit = new MarkdownIt({ linkify: true });
const contenders: [string, Parse, [number, number]][] = [
  ['ours', (t) => createRenderer()(t), [100, 1000]],
  ['markdown-it', (t) => mdit.render(t), [20, 100]],
  ['marked', (t) => marked.parse(t, { async: false, gfm: true }), [20, 100]],
  ['micromark', (t) => micromark(t, { extensions: [gfm()], htmlExtensions: [gfmHtml()] }), [20, 100]],
  ['before', (t) => (createBefore as () => Parse)()(t), [100, 1000]],
];
const results: Record<string, Record<string, (number | null)[]>> = {};
for (const [name, shape] of Object.entries(SHAPES)) {
  process.stderr.write(`bench: markdown "${name}"…\n`);
  const texts = SIZES.map((n) => shape(n));
  // (JSON has no NaN: null stands for "not run, or it threw".)
  results[name] = Object.fromEntries(contenders.map(([who, parse, limits]) => [who, series(parse, texts, limits).map((ms) => (Number.isNaN(ms) ? null : ms))]));
}
process.stdout.write(JSON.stringify(results));
