import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNginxConfig } from '../server/deploy/nginx-config.js';
import { freePort, startRedis, type RedisProcess } from './redis-server.js';
import { repoRoot } from './repo-root.js';

const MAIN = join(repoRoot, 'server', 'dist', 'main.js');
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';

/** The README's deployment recipe on this machine: `count` instances on one Redis, nginx in front. */
export interface ScaleOut {
  /** nginx's address: what visitors reach. */
  url: string;
  /** The instances' resident set sizes added up, in bytes (from /proc); nginx and Redis not counted. */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

/** Why the recipe cannot run here, or undefined when it can. */
export function scaleOutUnavailable(): string | undefined {
  if (!existsSync(MAIN)) return 'server/dist/main.js is missing (pnpm build)';
  if (!existsSync(NGINX)) return `nginx is not installed (looked for ${NGINX})`;
  return undefined;
}

/**
 * Starts a throwaway `redis-server`, `count` processes of `node server/dist/main.js` (what the
 * recipe runs, one per core) with the same `REDIS_URL` and `TRUST_PROXY=1`, and nginx rendered
 * from `server/deploy/nginx.conf` in front of them, all on loopback ports the OS hands out. The
 * per-IP limits are raised as in `bench-app.ts`: the benchmark is one client address. Logging is
 * at `info`, into /dev/null. Every process is stopped by its PID.
 */
export async function startScaleOut(upstreamUrl: string, count: number): Promise<ScaleOut> {
  const processes: ChildProcess[] = [];
  let redis: RedisProcess | undefined;
  let tempDir: string | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(processes.splice(0).map(stopProcess));
    await redis?.stop();
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  };
  try {
    redis = await startRedis();
    const env = {
      PATH: process.env.PATH ?? '',
      REDIS_URL: redis.url,
      OPENAI_API_KEY: 'sk-bench',
      OPENAI_BASE_URL: `${upstreamUrl}/v1`,
      TRUST_PROXY: '1',
      HOST: '127.0.0.1',
      CHATDROP_RATE_LIMIT: '1000000',
      CHATDROP_MAX_STREAMS_PER_IP: '100000',
      CHATDROP_MODELS: 'fast=bench-model',
      LOG_LEVEL: 'info',
    };
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      ports.push(port);
      processes.push(spawn(process.execPath, [MAIN], { env: { ...env, PORT: String(port) }, stdio: 'ignore' }));
    }
    await Promise.all(ports.map((port, i) => waitFor(`http://127.0.0.1:${port}/healthz`, processes[i] as ChildProcess)));

    tempDir = await mkdtemp(join(tmpdir(), 'chatdrop-bench-nginx-'));
    await chmod(tempDir, 0o755); // nginx's workers run as `nobody` when the bench runs as root
    const listenPort = await freePort();
    const configFile = join(tempDir, 'nginx.conf');
    await writeFile(configFile, renderNginxConfig({ listenPort, upstreams: ports.map((p) => `127.0.0.1:${p}`), tempDir }));
    const nginx = spawn(NGINX, ['-c', configFile, '-p', tempDir, '-e', 'stderr'], { stdio: 'ignore' });
    processes.push(nginx);
    const url = `http://127.0.0.1:${listenPort}`;
    await waitFor(`${url}/healthz`, nginx);
    const instances = processes.slice(0, count);
    return {
      url,
      async rss() {
        const sizes = await Promise.all(instances.map((p) => rssOf(p.pid ?? 0)));
        return sizes.reduce((a, b) => a + b, 0);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`);
    if (await fetch(url).then((res) => res.ok, () => false)) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}
