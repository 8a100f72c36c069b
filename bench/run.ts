import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appUnavailable, startAppChild } from './bench-app.js';
import { bubbleTime } from './bubble-time.js';
import { capacity } from './capacity.js';
import { markdownBench } from './markdown.js';
import { startChildServer } from './child-server.js';
import { notMeasured, stamp, type Measured } from './figure.js';
import { pageCost } from './page-cost.js';
import { panelTime } from './panel-time.js';
import { proxyCost } from './proxy-cost.js';
import { proxyOverhead } from './proxy-overhead.js';
import { render } from './render.js';
import { resumeFanout } from './resume-fanout.js';
import { repoRoot } from './repo-root.js';
import { storeBench } from './store.js';
import { formatTable } from './table.js';
import { inboxBench } from './inbox.js';
import { knowledgeBench } from './knowledge.js';
import { robotsBench } from './robots.js';
import { widgetWeight } from './widget-weight.js';

/**
 * `pnpm bench` (issue 7): runs every benchmark in turn, prints one Markdown table on stdout
 * (progress goes to stderr) and writes `bench/results.json`. A part that fails or whose
 * dependency is missing becomes a "not measured: <why>" row; nothing here fails the run, because
 * benchmarks are not tests.
 *
 * `pnpm bench proxy capacity` runs only the parts whose name contains one of the words, and
 * writes `bench/results.partial.json` instead, so a partial run never replaces the full table.
 */
const parts: { name: string; run: (appError: string | undefined) => Promise<Measured[]> }[] = [
  { name: 'widget weight', run: () => widgetWeight() },
  { name: 'store', run: () => storeBench() },
  { name: 'knowledge', run: () => knowledgeBench() },
  { name: 'robots.txt', run: () => robotsBench() },
  { name: 'inbox', run: () => inboxBench() },
  { name: 'bubble time', run: (appError) => withApp(appError, bubbleTime) },
  { name: 'panel time', run: (appError) => withApp(appError, panelTime) },
  { name: 'page cost (lighthouse)', run: (appError) => (appError === undefined ? pageCost() : Promise.resolve([notMeasured('page cost (Lighthouse)', '', appError)])) },
  { name: 'render', run: (appError) => render(appError) },
  { name: 'markdown', run: (appError) => markdownBench(appError) },
  { name: 'proxy cpu cost', run: (appError) => proxyCost(appError) },
  { name: 'proxy overhead', run: (appError) => proxyOverhead(appError) },
  { name: 'capacity', run: (appError) => capacity(appError) },
  { name: 'resume fan-out', run: () => resumeFanout() },
];

const only = process.argv.slice(2).filter((a) => a !== '--');
const chosen = only.length === 0 ? parts : parts.filter((p) => only.some((word) => p.name.includes(word)));
if (chosen.length === 0) {
  process.stderr.write(`bench: no part matches ${only.join(', ')}; parts: ${parts.map((p) => p.name).join(', ')}\n`);
  process.exit(2);
}
const resultsFile = chosen.length === parts.length ? 'results.json' : 'results.partial.json';

const started = performance.now();
const appError = appUnavailable();
const date = new Date().toISOString();
const commit = gitCommit();
const rows: Measured[] = [];
for (const part of chosen) {
  const t = performance.now();
  process.stderr.write(`bench: ${part.name}…\n`);
  try {
    rows.push(...(await part.run(appError)));
  } catch (error) {
    rows.push(notMeasured(part.name, '', `failed: ${(error as Error).message}`));
  }
  process.stderr.write(`bench: ${part.name} took ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}
const figures = rows.map((row) => stamp(row, date, commit));
await writeFile(join(repoRoot, 'bench', resultsFile), `${JSON.stringify(figures, null, 2)}\n`);
process.stdout.write(`\n${formatTable(figures)}\n\n`);
process.stdout.write(
  `${date} · commit ${commit} · Node ${process.version} · ${(await import('node:os')).cpus().length} cores · ` +
    `${((performance.now() - started) / 1000).toFixed(0)} s · written to bench/${resultsFile}\n`,
);

/** The widget asks `/api/config` once it mounts its panel, so these run against the real app. */
async function withApp(appError: string | undefined, part: (apiUrl: string | undefined) => Promise<Measured[]>): Promise<Measured[]> {
  if (appError !== undefined) return part(undefined);
  const mock = await startChildServer(['mock']);
  try {
    const app = await startAppChild(mock.url);
    try {
      return await part(app.url);
    } finally {
      await app.stop();
    }
  } finally {
    await mock.stop();
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
