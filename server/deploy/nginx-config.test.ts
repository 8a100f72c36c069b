import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { widgetRouter } from '../src/http/widget-route.js';
import { freePort } from '../src/test/redis-server.js';
import { writeWidgetBuild } from '../src/test/widget-build.js';
import { renderNginxConfig } from './nginx-config.js';

// CI installs Debian's nginx; a missing one must fail this file loudly, never skip it.
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
if (spawnSync(NGINX, ['-v']).error) throw new Error(`nginx is not installed (looked for "${NGINX}"); install it (apt-get install nginx) or set NGINX`);

/** One widget build, served by both instances through the real widget route. */
const widgetDir = mkdtempSync(join(tmpdir(), 'chatdrop-nginx-widget-'));
const PANEL = 'widget/panel-Hash_123.js';
writeWidgetBuild(widgetDir, { 'widget.js': `console.log(${JSON.stringify('chatdrop '.repeat(100))});`, [PANEL]: 'export{};' });
const widget = express().use(widgetRouter({ widgetDir }));

/** A stand-in for one Chatdrop instance: enough HTTP to see what nginx does in between. */
class Instance {
  readonly server: Server;
  readonly seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  widgetHits = 0;
  /** Streams wait here before their last event, until the test has seen the first one. */
  #release: () => void = () => {};
  #released = Promise.resolve();

  constructor(readonly name: string) {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.seen.push({ path, headers: req.headers });
      if (path.startsWith('/api/chat')) {
        // Deliberately no X-Accel-Buffering header: the config alone must keep the stream flowing.
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform' });
        res.write(`id: 1\ndata: ${JSON.stringify({ type: 'text-delta', delta: `first from ${name}` })}\n\n`);
        void this.#released.then(() => res.end(`id: 2\ndata: ${JSON.stringify({ type: 'text-delta', delta: 'last' })}\n\n`));
        return;
      }
      if (path === '/widget.js' || path.startsWith('/widget/')) {
        this.widgetHits++;
        widget(req, res);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ name, headers: req.headers }));
    });
  }

  holdStreams(): void {
    this.#released = new Promise((resolve) => (this.#release = resolve));
  }

  releaseStreams(): void {
    this.#release();
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

const instances = [new Instance('a'), new Instance('b')];
let nginx: ChildProcess | undefined;
let tempDir: string;
let base: string;
let nginxOutput = '';

beforeAll(async () => {
  for (const instance of instances) {
    instance.server.listen(0, '127.0.0.1');
    await once(instance.server, 'listening');
  }
  tempDir = await mkdtemp(join(tmpdir(), 'chatdrop-nginx-'));
  // Run as root (a container), nginx's workers drop to `nobody`, who must reach the temp dirs.
  await chmod(tempDir, 0o755);
  const port = await freePort();
  const configFile = join(tempDir, 'nginx.conf');
  await writeFile(configFile, renderNginxConfig({ listenPort: port, upstreams: instances.map((i) => i.address), tempDir }));
  nginx = spawn(NGINX, ['-c', configFile, '-p', tempDir, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
  nginx.stdout?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
  nginx.stderr?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
  base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}:\n${nginxOutput}`);
    const up = await fetch(`${base}/healthz`).then((res) => res.ok, () => false);
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start listening on ${port}:\n${nginxOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const instance of instances) instance.seen.length = 0;
}, 20_000);

afterAll(async () => {
  for (const instance of instances) instance.releaseStreams();
  if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
    const exited = once(nginx, 'exit');
    nginx.kill('SIGTERM'); // by its own PID; the master takes its workers with it
    await exited;
  }
  for (const instance of instances) {
    instance.server.closeAllConnections();
    instance.server.close();
  }
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
  await rm(widgetDir, { recursive: true, force: true });
});

describe('renderNginxConfig', () => {
  it('fills in the port, the instances and the temp dir, and leaves nginx variables alone', () => {
    const config = renderNginxConfig({ listenPort: 8080, upstreams: ['10.0.0.1:8787', '10.0.0.2:8787'], tempDir: '/var/lib/chatdrop-nginx/' });
    expect(config).toContain('listen 8080;');
    expect(config).toContain('server 10.0.0.1:8787; server 10.0.0.2:8787;');
    expect(config).toContain('pid /var/lib/chatdrop-nginx/nginx.pid;');
    expect(config).toContain('$proxy_add_x_forwarded_for');
    expect(config).not.toMatch(/\$\{(LISTEN_PORT|UPSTREAM_SERVERS|TEMP_DIR)\}/);
  });

  it('refuses values that would break the config', () => {
    const ok = { listenPort: 8080, upstreams: ['127.0.0.1:8787'], tempDir: '/tmp/x' };
    expect(() => renderNginxConfig({ ...ok, listenPort: 0 })).toThrow(RangeError);
    expect(() => renderNginxConfig({ ...ok, upstreams: [] })).toThrow(RangeError);
    expect(() => renderNginxConfig({ ...ok, upstreams: ['127.0.0.1:1; include /etc/passwd'] })).toThrow(RangeError);
    expect(() => renderNginxConfig({ ...ok, tempDir: 'relative/dir' })).toThrow(RangeError);
  });
});

describe('nginx.conf in front of two instances', () => {
  it('balances requests over both instances', async () => {
    const names: string[] = [];
    for (let i = 0; i < 6; i++) names.push(((await (await fetch(`${base}/api/config`)).json()) as { name: string }).name);
    // Idle instances tie under least_conn, and ties go round robin: strictly alternating.
    for (let i = 1; i < names.length; i++) expect(names[i]).not.toBe(names[i - 1]);
    expect(names.filter((name) => name === 'a')).toHaveLength(3);
  });

  it('sends each chat stream to an instance with fewer open streams', async () => {
    for (const instance of instances) instance.holdStreams();
    const open = [await fetch(`${base}/api/chat`, { method: 'POST' }), await fetch(`${base}/api/chat`, { method: 'POST' })];
    const readers = open.map((res) => res.body!.getReader());
    const texts = await Promise.all(readers.map((reader) => firstChunk(reader)));
    expect(texts.some((text) => text.includes('first from a'))).toBe(true);
    expect(texts.some((text) => text.includes('first from b'))).toBe(true);
    for (const instance of instances) instance.releaseStreams();
    await Promise.all(readers.map((reader) => reader.cancel()));
  });

  it('passes the first event through while the stream is still open (no buffering)', async () => {
    for (const instance of instances) instance.holdStreams();
    // As a browser asks: with gzip allowed, which a gzipping proxy would hold back until the end.
    const res = await fetch(`${base}/api/chat`, { method: 'POST', body: '{}', headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    // The instance ends the stream only after this read returns, so a buffering proxy hangs here.
    const first = await withTimeout(reader.read(), 5_000, `the first event did not get through nginx while the stream was open:\n${nginxOutput}`);
    expect(new TextDecoder().decode(first.value)).toMatch(/^id: 1\ndata: .*"first from [ab]"/);
    for (const instance of instances) instance.releaseStreams();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('"last"');
  });

  it('tells the instances the client address (X-Forwarded-For, X-Real-IP) and the host', async () => {
    for (const path of ['/api/chat', '/api/conversations/x']) {
      for (const instance of instances) instance.seen.length = 0;
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'X-Forwarded-For': '203.0.113.9' } });
      await res.text();
      const seen = instances.flatMap((instance) => instance.seen);
      expect(seen).toHaveLength(1);
      const headers = seen[0]!.headers;
      // The client's own claim comes first; the address nginx saw is appended last, where
      // TRUST_PROXY=1 makes Express read it.
      expect(headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
      expect(headers['x-real-ip']).toBe('127.0.0.1');
      expect(headers.host).toBe(new URL(base).host);
    }
  });

  it('caches widget.js once per coding with the instance ETag and Cache-Control, compresses nothing itself, and answers 304', async () => {
    const hits = () => instances[0]!.widgetHits + instances[1]!.widgetHits;
    const before = hits();
    const etags = new Map<string, string>();
    for (const coding of ['br', 'gzip', 'br', 'gzip']) {
      const res = await fetch(`${base}/widget.js`, { headers: { 'Accept-Encoding': coding } });
      expect(await res.text()).toContain('chatdrop chatdrop');
      // The instance's coding and strong ETag, passed through (nginx's own gzip would weaken it).
      expect(res.headers.get('content-encoding')).toBe(coding);
      expect(res.headers.get('vary')).toMatch(/Accept-Encoding/);
      expect(res.headers.get('etag')).toMatch(/^"[\w-]+"$/);
      expect(res.headers.get('cache-control')).toBe('public, max-age=300, must-revalidate');
      if (etags.has(coding)) {
        expect(res.headers.get('x-cache-status')).toBe('HIT');
        expect(res.headers.get('etag')).toBe(etags.get(coding));
      }
      etags.set(coding, res.headers.get('etag')!);
    }
    expect(etags.get('br')).not.toBe(etags.get('gzip'));
    expect(hits() - before).toBe(2); // one per coding

    for (const coding of ['br', 'gzip']) {
      const revalidated = await fetch(`${base}/widget.js`, { headers: { 'Accept-Encoding': coding, 'If-None-Match': etags.get(coding)! } });
      expect(revalidated.status).toBe(304);
    }
  });

  it('caches the hashed chunks as the instances say: immutable, for a year', async () => {
    const first = await fetch(`${base}/${PANEL}`, { headers: { 'Accept-Encoding': 'br' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    const again = await fetch(`${base}/${PANEL}`, { headers: { 'Accept-Encoding': 'br' } });
    expect(again.headers.get('x-cache-status')).toBe('HIT');
    const missing = await fetch(`${base}/widget/panel-Missing1.js`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${base}/widget/panel-Missing1.js`)).headers.get('x-cache-status')).not.toBe('HIT');
  });
});

async function firstChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value } = await withTimeout(reader.read(), 5_000, 'no first chunk through nginx');
  return new TextDecoder().decode(value);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
