import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articlePage, startStaticSite, type StaticSite } from '../test/static-site.js';

/**
 * What `pnpm start` runs, `node server/dist/main.js`, finds its extraction worker among the
 * emitted files (`dist/knowledge/extract-worker.js`, plain Node, no tsx), gives up a page past
 * `CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS` as a failure of that page only, and on SIGTERM ends
 * the worker and exits 0 while a page is still being extracted.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'server/dist/main.js');
/** linkedom's tree building walks the 250 ancestors of each of 29,000 links: seconds of work. */
const HUGE = `<html><body>${'<div>'.repeat(250)}${'<a href="/p">p</a> '.repeat(29_000)}</body></html>`;
const GENEROUS_MS = 30_000;

let dir: string;
let site: StaticSite;
const children: ChildProcess[] = [];

beforeAll(() => {
  // `pnpm test` builds first; a lone `vitest run` may find dist stale, so build (fast when current).
  const built = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'shared', 'server'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`tsc -b shared server failed:\n${built.stdout}${built.stderr}`);
  dir = mkdtempSync(join(tmpdir(), 'chatdrop-built-extraction-'));
}, 120_000);
beforeAll(async () => {
  site = await startStaticSite({});
});
afterAll(async () => {
  for (const proc of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  await site.close();
  rmSync(dir, { recursive: true, force: true });
});

/** main.js on a free port, its log lines parsed as they come. */
function startMain(env: Record<string, string>): { proc: ChildProcess; lines: Record<string, unknown>[]; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [MAIN], { cwd: dir, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  proc.stdout.on('data', (part: Buffer) => {
    buffered += part.toString('utf8');
    const all = buffered.split('\n');
    buffered = all.pop() ?? '';
    for (const line of all) lines.push(line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : { msg: line });
  });
  proc.stderr.on('data', (part: Buffer) => lines.push({ msg: part.toString('utf8') }));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, lines, exited };
}

describe('the built server\'s extraction worker', () => {
  it('extracts crawled pages in its worker, fails a page past the time limit, and ends the worker on SIGTERM', async () => {
    site.set('/help/huge', { body: HUGE });
    site.set('/help/reset', { body: articlePage('Reset your password', { 'On the web': 'Choose Forgot password on the sign-in page and follow the link we email you.' }) });
    site.set('/sitemap.xml', { type: 'application/xml', body: `<urlset><url><loc>${site.origin}/help/huge</loc></url><url><loc>${site.origin}/help/reset</loc></url></urlset>` });
    const main = startMain({
      HOST: '127.0.0.1',
      PORT: '0',
      CHATDROP_DB: join(dir, 'chatdrop.db'),
      CHATDROP_KNOWLEDGE: `${site.origin}/sitemap.xml`,
      CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS: '500',
    });
    const logged = (msg: string) => main.lines.find((line) => line.msg === msg);
    await expect.poll(() => logged('knowledge: index updated'), { timeout: GENEROUS_MS }).toBeDefined();
    expect(logged('knowledge: index updated')).toMatchObject({ fetched: 1, pages: 1, failures: { unparsable: 1 } });
    expect(main.lines.filter((line) => line.msg === 'knowledge: page not indexed')).toEqual([
      expect.objectContaining({ url: `${site.origin}/help/huge`, reason: 'unparsable', detail: expect.stringMatching(/^extraction took longer than 500 ms/) }),
    ]);

    main.proc.kill('SIGTERM');
    expect(await main.exited).toBe(0);

    // SIGTERM while the huge page is in hand (a crawl from that page, with no time limit to speak
    // of): the page fails because extraction stopped, rather than the shutdown waiting for it.
    const crawling = startMain({
      HOST: '127.0.0.1',
      PORT: '0',
      CHATDROP_DB: join(dir, 'second.db'),
      CHATDROP_KNOWLEDGE: `${site.origin}/help/huge`,
      CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS: '600000',
    });
    const asked = site.requests.length;
    await expect.poll(() => site.requests.slice(asked).some((r) => r.path === '/help/huge'), { timeout: GENEROUS_MS }).toBe(true);
    crawling.proc.kill('SIGTERM');
    expect(await crawling.exited).toBe(0);
    expect(crawling.lines.filter((line) => line.msg === 'knowledge: page not indexed')).toEqual([
      expect.objectContaining({ url: `${site.origin}/help/huge`, detail: 'extraction stopped: the server is shutting down' }),
    ]);
    expect(crawling.lines.map((line) => line.msg)).toContain('stopped');
  }, 120_000);
});
