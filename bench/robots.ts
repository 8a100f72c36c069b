import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { measured, round, type Measured } from './figure.js';
import { percentile } from './percentile.js';

const MB = 1024 * 1024;

/**
 * robots.txt past its parsing limit (RFC 9309 2.5): the crawler reads the first 512 KiB and hangs
 * up. Measured over loopback: the time to read a 10 MB file, and the peak memory (RSS) a read adds
 * to a process of its own (`robots-child.ts`), each against a 1 MB file, which is cut at the same
 * 512 KiB: a ratio near 1 says the cost does not grow with the file. And how much
 * an endless robots.txt gets out before the crawler closes the connection (against the limit
 * itself; the rest is what the two sockets' buffers held).
 */
export async function robotsBench(): Promise<Measured[]> {
  const { readRobots } = await import('../server/src/knowledge/read-robots.js');
  const { DEFAULT_LIMITS } = await import('../server/src/knowledge/crawl.js');
  const { ROBOTS_MAX_BYTES } = await import('../server/src/knowledge/robots.js');
  // The files are served by a process of their own, so the server's buffers are not counted.
  const site = await robotsSite();
  const limits = { ...DEFAULT_LIMITS, timeoutMs: 30_000 };
  /** Per read: wall time. */
  const read = async (origin: string): Promise<number> => {
    const started = performance.now();
    const robots = await readRobots(origin, limits);
    const ms = performance.now() - started;
    if (robots.allows('/private')) throw new Error('the rule in the first 500 KiB was not read');
    return ms;
  };
  try {
    await read(site.base); // warm-up
    const runs = { big: [] as number[], base: [] as number[] };
    for (let i = 0; i < 9; i++) {
      runs.base.push(await read(site.base));
      runs.big.push(await read(site.big));
    }
    const median = (xs: number[]) => percentile(xs, 50);
    // Peak RSS of a process of its own per read, the lowest of 3 (less noise from the rest).
    const peak = async (origin: string) => Math.min(...[await peakRssMB(origin), await peakRssMB(origin), await peakRssMB(origin)]);
    const idle = await peak(site.tiny);
    const [bigPeak, basePeak] = [(await peak(site.big)) - idle, (await peak(site.base)) - idle];
    const sentMB = await endlessSent();
    return [
      measured({
        figure: 'robots.txt of 10 MB: read (the first 512 KiB, then hang up), median of 9',
        unit: 'ms',
        value: round(median(runs.big), 1),
        baseline: 'a 1 MB robots.txt (also cut at 512 KiB)',
        baselineValue: round(median(runs.base), 1),
      }),
      measured({
        figure: 'robots.txt of 10 MB: peak memory (RSS) the read adds to a process, lowest of 3',
        unit: 'MB',
        value: round(bigPeak, 1),
        baseline: 'a 1 MB robots.txt (also cut at 512 KiB)',
        baselineValue: round(basePeak, 1),
        note: `over a process that reads a 1 KiB robots.txt (${round(idle, 1)} MB, most of it tsx)`,
      }),
      measured({
        figure: 'robots.txt that never ends: bytes the server got out before the crawler hung up',
        unit: 'MB',
        value: round(sentMB, 2),
        baseline: 'the parsing limit',
        baselineValue: round(ROBOTS_MAX_BYTES / MB, 2),
        note: "the rest sat in the two loopback sockets' buffers",
      }),
    ];
  } finally {
    site.child.kill();
  }

  /** The peak RSS, in MB, of a process that reads `${origin}/robots.txt` once. */
  async function peakRssMB(origin: string): Promise<number> {
    const child = fork(fileURLToPath(new URL('./robots-child.ts', import.meta.url)), [origin], { execArgv: process.execArgv });
    const message = await new Promise<{ maxRssKB: number }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { maxRssKB: number }));
      child.once('exit', (code) => reject(new Error(`robots-child exited with ${code} before reporting`)));
    });
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
    return message.maxRssKB / 1024;
  }

  /** A child process serving robots.txt files of 10 MB, 1 MB and 1 KiB, each on a port of its own. */
  async function robotsSite(): Promise<{ big: string; base: string; tiny: string; child: ChildProcess }> {
    const code = `
      const http = require('node:http');
      const file = (bytes) => {
        const lines = ['User-agent: *\\nDisallow: /private\\n'];
        for (let i = 0, size = 0; size < bytes; i++) { const l = 'Disallow: /archive/' + i + '/\\n'; lines.push(l); size += l.length; }
        return Buffer.from(lines.join(''));
      };
      const serve = (body) => new Promise((resolve) => {
        const server = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(body));
        server.listen(0, '127.0.0.1', () => resolve(server.address().port));
      });
      Promise.all([serve(file(${10 * MB})), serve(file(${MB})), serve(file(1024))]).then((ports) => process.stdout.write(ports.join(' ') + '\\n'));
    `;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [bigPort, basePort, tinyPort] = await new Promise<string[]>((resolve, reject) => {
      child.once('error', reject);
      child.stdout?.once('data', (data: Buffer) => resolve(data.toString().trim().split(' ')));
    });
    return { big: `http://127.0.0.1:${bigPort}`, base: `http://127.0.0.1:${basePort}`, tiny: `http://127.0.0.1:${tinyPort}`, child };
  }

  /** Serves robots.txt lines for as long as the reader takes them; the bytes written once it hangs up. */
  async function endlessSent(): Promise<number> {
    let written = 0;
    let hungUp!: () => void;
    const done = new Promise<void>((resolve) => (hungUp = resolve));
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.on('close', hungUp);
      const line = Buffer.from('User-agent: *\nDisallow: /private\n'.padEnd(1024, '#') + '\n');
      const pump = (): void => {
        while (!res.destroyed) {
          written += line.length;
          if (!res.write(line)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await readRobots(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, limits);
      await done;
      return written / MB;
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
