import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/**
 * A throwaway redis-server for tests (issue 6: "the store suite against a real Redis started by the
 * test on a free port"). CI installs Debian's redis-server; a missing one must fail the test file
 * loudly, never skip it, so every file that uses this calls `requireRedisServer()` at top level.
 */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

const NOT_INSTALLED = `redis-server is not installed (looked for "${REDIS_SERVER}"); install it (apt-get install redis-server) or set REDIS_SERVER`;

/**
 * Throws when redis-server cannot run. Call it while the test file loads: the run then counts the
 * file as failed (a throwing beforeAll would only mark its tests skipped).
 */
export function requireRedisServer(): void {
  if (spawnSync(REDIS_SERVER, ['--version']).error) throw new Error(NOT_INSTALLED);
}

/** A port the OS just handed out and took back; a server started right after then listens on it. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  await once(probe, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** Starts a throwaway redis-server on loopback, without persistence, and waits until it is ready. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}:\n${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new Error(NOT_INSTALLED) : error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return child;
}

/** Stops a server started by `startRedis` (by its own PID) and waits for it to exit. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/**
 * A client as `main.ts` should make one for the shared-state modules: calls fail at once while
 * Redis is away (no offline queue) and it reconnects by itself. Resolves once it is ready; the
 * caller disconnects it.
 */
export async function connectTestClient(url: string): Promise<Redis> {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  redis.on('error', () => {}); // reconnect noise; failed calls report their own errors
  if (redis.status !== 'ready') await once(redis, 'ready');
  return redis;
}
