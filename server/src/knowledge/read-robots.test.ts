import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../test/redis-server.js';
import { startStaticSite, type StaticSite } from '../test/static-site.js';
import { DEFAULT_LIMITS } from './crawl.js';
import { readRobots } from './read-robots.js';
import { ROBOTS_MAX_BYTES } from './robots.js';

const LIMITS = { ...DEFAULT_LIMITS, timeoutMs: 10_000 };
const KIB = 1024;
const sites: StaticSite[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});
async function site(pages: Parameters<typeof startStaticSite>[0]): Promise<StaticSite> {
  const s = await startStaticSite(pages);
  sites.push(s);
  return s;
}

/** `head`, then rule lines that match nothing of ours, to `bytes` bytes; then `tail`. */
function bigFile(head: string, bytes: number, tail = ''): string {
  const lines: string[] = [head];
  let size = Buffer.byteLength(head);
  for (let i = 0; size < bytes; i++) {
    const line = `Disallow: /archive/${i}/\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('') + tail;
}

/**
 * A robots.txt that never ends: `head`, then comment lines for as long as the client reads,
 * written as fast as the connection takes them (with backpressure). Resolves, once the client
 * hangs up, with how many bytes were written.
 */
async function endlessRobots(head: string): Promise<{ origin: string; hungUp: Promise<number> }> {
  let written = 0;
  let hungUp!: (bytes: number) => void;
  const done = new Promise<number>((resolve) => (hungUp = resolve));
  const server = createServer((req, res) => {
    if (req.url !== '/robots.txt') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.on('close', () => hungUp(written));
    const line = Buffer.from(`# ${'x'.repeat(1020)}\n`);
    const pump = (): void => {
      if (written === 0) {
        res.write(head);
        written += head.length;
      }
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
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hungUp: done };
}

describe('reading robots.txt (RFC 9309)', () => {
  it('follows the rules in the first 500 KiB of a multi-megabyte file', async () => {
    const s = await site({ '/robots.txt': { type: 'text/plain', body: bigFile('User-agent: *\nDisallow: /private\n', 4 * 1024 * KIB) } });
    const robots = await readRobots(s.origin, LIMITS);
    expect(robots.unreachable).toBeUndefined();
    expect(robots.allows('/private/plans')).toBe(false);
    expect(robots.allows('/archive/12/')).toBe(false);
    expect(robots.allows('/help/plans')).toBe(true);
  });

  it('ignores what lies past the limit, even a rule that would forbid everything', async () => {
    const s = await site({ '/robots.txt': { type: 'text/plain', body: bigFile('User-agent: *\nDisallow: /private\n', 3 * 1024 * KIB, 'Disallow: /\n') } });
    const robots = await readRobots(s.origin, LIMITS);
    expect(robots.allows('/help/plans')).toBe(true);
    expect(robots.allows('/private')).toBe(false);
  });

  it('never reads a rule cut in two at the limit as the part of it that fits', async () => {
    // "Disallow: /help/private-notes" straddles the limit with "Disallow: /help/" inside it: read
    // as such, the cut rule would forbid all of /help/.
    const head = 'User-agent: *\nDisallow: /before-the-cut\n';
    const cutRule = 'Disallow: /help/private-notes\n';
    const fill = ROBOTS_MAX_BYTES - Buffer.byteLength(head) - 'Disallow: /help/'.length;
    const filler = `# ${'f'.repeat(fill - 3)}\n`;
    expect(Buffer.byteLength(head + filler + 'Disallow: /help/')).toBe(ROBOTS_MAX_BYTES);
    const s = await site({ '/robots.txt': { type: 'text/plain', body: head + filler + cutRule + 'Disallow: /after\n'.repeat(10_000) } });
    const robots = await readRobots(s.origin, LIMITS);
    expect(robots.allows('/help/plans')).toBe(true);
    expect(robots.allows('/help/private-notes')).toBe(true);
    expect(robots.allows('/before-the-cut')).toBe(false);
  });

  it('stops reading at the limit: a robots.txt that never ends is read, not waited for', async () => {
    const endless = await endlessRobots('User-agent: Chatdrop\nDisallow: /drafts\n');
    const started = Date.now();
    const robots = await readRobots(endless.origin, LIMITS);
    // A timeout would read as unreachable (disallow all); the rules prove the read ended by itself.
    expect(robots.unreachable).toBeUndefined();
    expect(robots.allows('/drafts/x')).toBe(false);
    expect(robots.allows('/help')).toBe(true);
    expect(Date.now() - started).toBeLessThan(LIMITS.timeoutMs);
    // The connection is closed at the limit: what the server got out is the limit plus what the
    // sockets' buffers held, not the endless rest.
    expect(await endless.hungUp).toBeLessThan(64 * 1024 * KIB);
  });

  it('reads lines ended by CR alone, by LF and by CRLF (2.2)', async () => {
    const s = await site({ '/robots.txt': { type: 'text/plain', body: 'User-agent: *\rDisallow: /a\r\nDisallow: /b\nUser-agent: other\rDisallow: /\r' } });
    const robots = await readRobots(s.origin, LIMITS);
    expect([robots.allows('/a'), robots.allows('/b'), robots.allows('/c')]).toEqual([false, false, true]);
  });

  it('reads a 4xx as no rules, and a 5xx, a 429 or no answer as crawl nothing', async () => {
    const s = await site({});
    const answer = async (page: Parameters<StaticSite['set']>[1]) => {
      s.set('/robots.txt', page);
      const robots = await readRobots(s.origin, { ...LIMITS, timeoutMs: 500 });
      return { allows: robots.allows('/help'), unreachable: robots.unreachable };
    };
    for (const status of [400, 401, 403, 404, 410]) expect(await answer({ status, body: 'Disallow: /' }), `HTTP ${status}`).toEqual({ allows: true, unreachable: undefined });
    expect(await answer({ status: 204 })).toEqual({ allows: true, unreachable: undefined });
    for (const status of [429, 500, 502, 503]) {
      expect(await answer({ status, body: 'User-agent: *\nAllow: /\n' }), `HTTP ${status}`).toEqual({ allows: false, unreachable: `robots.txt answered HTTP ${status}${status === 429 ? ' (too many requests)' : ''}` });
    }
    expect(await answer({ hang: true })).toMatchObject({ allows: false, unreachable: expect.stringContaining('timeout') });
    const closed = `http://127.0.0.1:${await freePort()}`;
    const refused = await readRobots(closed, LIMITS);
    expect([refused.allows('/help'), refused.unreachable]).toEqual([false, expect.stringContaining('network')]);
  });

  it('follows five redirects, to another origin too (RFC 9309 2.3.1.2); past five there is no file', async () => {
    const other = await site({ '/robots.txt': { type: 'text/plain', body: 'User-agent: *\nDisallow: /help\n' } });
    const s = await site({ '/rules.txt': { type: 'text/plain', body: 'User-agent: *\nDisallow: /private\n' } });
    const chain = (n: number) => {
      for (let i = 0; i < n; i++) s.set(i === 0 ? '/robots.txt' : `/r${i}`, { status: 301, headers: { location: i === n - 1 ? '/rules.txt' : `/r${i + 1}` } });
    };
    chain(5);
    const five = await readRobots(s.origin, LIMITS);
    expect([five.allows('/private'), five.allows('/help')]).toEqual([false, true]);
    chain(6);
    const six = await readRobots(s.origin, LIMITS);
    expect([six.allows('/private'), six.unreachable]).toEqual([true, undefined]);
    s.set('/robots.txt', { status: 302, headers: { location: `${other.origin}/robots.txt` } });
    const away = await readRobots(s.origin, LIMITS);
    expect([away.allows('/help'), away.allows('/pricing'), away.unreachable]).toEqual([false, true, undefined]);
    expect(other.requests.map((r) => r.path)).toEqual(['/robots.txt']);
  });
});
