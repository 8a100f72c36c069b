import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Summarises `.cpuprofile` files (from `BENCH_CPU_PROF=<dir> pnpm bench ...`): total sampled
 * time, idle share, the top functions by self time, and self time by where the code lives
 * (our server, a package in node_modules, Node's own internals, GC, native).
 *
 *   pnpm exec tsx bench/cpu-profile-summary.ts <dir or file> [top=25]
 *
 * Only the largest profile of a directory is read: the proxy's main thread (the small ones are
 * tsx's loader thread).
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [target = '.', topArg = '25'] = process.argv.slice(2);
const file = target.endsWith('.cpuprofile') ? target : await largestProfile(target);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map<string, number>();
const area = new Map<string, number>();
for (const [id, us] of self) {
  const node = byId.get(id);
  if (node === undefined) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'}  ${shortUrl(url)}${url === '' ? '' : `:${lineNumber + 1}`}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  area.set(areaOf(functionName, url), (area.get(areaOf(functionName, url)) ?? 0) + us);
}
const idle = area.get('(idle)') ?? 0;
const busy = total - idle;
const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
console.log(`${file}\nsampled ${ms(total)} ms, idle ${ms(idle)} ms, busy ${ms(busy)} ms (shares below are of busy time)\n`);
console.log('self time by area:');
for (const [name, us] of [...area].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1])) {
  console.log(`${ms(us)} ms ${pct(us)}  ${name}`);
}
console.log(`\ntop ${topArg} functions by self time:`);
for (const [name, us] of [...fn].filter(([n]) => !n.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) {
  console.log(`${ms(us)} ms ${pct(us)}  ${name}`);
}

const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
// The same, with Node's internals and natives charged to the nearest caller that is not Node's:
// "what did our code and each package cost, all in".
const charged = new Map<string, number>();
for (const [id, us] of self) {
  let name = '(native / builtins)';
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const node = byId.get(at);
    if (node === undefined) break;
    const { functionName, url } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') {
      name = functionName;
      break;
    }
    if (url === '' || url.startsWith('node:')) continue;
    name = areaOf(functionName, url);
    break;
  }
  charged.set(name, (charged.get(name) ?? 0) + us);
}
console.log('\nself time by area, Node internals charged to their nearest caller outside Node:');
for (const [name, us] of [...charged].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(`${ms(us)} ms ${pct(us)}  ${name}`);
}

// Inclusive ("total") time: a function counts once per sample it is anywhere on the stack of.
const inclusive = new Map<string, number>();
for (const [id, us] of self) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const node = byId.get(at);
    if (node === undefined) break;
    const { functionName, url, lineNumber } = node.callFrame;
    if (url === '' || functionName === '(idle)') continue;
    const key = `${functionName || '(anonymous)'}  ${shortUrl(url)}:${lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}
console.log(`\ntop ${topArg} functions by total time (self + callees), Node's internals left out:`);
for (const [name, us] of [...inclusive].filter(([n]) => !/ node:/.test(n)).sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) {
  console.log(`${ms(us)} ms ${pct(us)}  ${name}`);
}

async function largestProfile(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile'));
  const sized = await Promise.all(names.map(async (n) => ({ n, size: (await readFile(join(dir, n))).length })));
  const best = sized.sort((a, b) => b.size - a.size)[0];
  if (best === undefined) throw new Error(`no .cpuprofile in ${dir}`);
  return join(dir, best.n);
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) return url.slice(nm + 'node_modules/'.length);
  const src = url.search(/\/(server|shared)\/(dist|src)\//);
  if (src !== -1) return url.slice(src + 1);
  return url;
}

function areaOf(functionName: string, url: string): string {
  if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') {
    return functionName === '(idle)' ? '(idle)' : functionName;
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (/\/(server|shared)\/(dist|src)\//.test(url)) return 'chatdrop (server, shared)';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.startsWith('node:internal/deps/')) return `node internals (${url.slice('node:internal/deps/'.length).split('/')[0]})`;
  if (url.startsWith('node:internal/')) return `node internals (${url.slice('node:internal/'.length).split('/')[0]})`;
  if (url.startsWith('node:')) return `node internals (${url.slice(5).split('/')[0]})`;
  if (url === '') return '(native / builtins)';
  return url;
}
