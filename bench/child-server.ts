import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface ChildServer {
  url: string;
  pid: number;
  /** Resident set size of the child now, in bytes (from /proc, so the child's loop is not involved). */
  rss(): Promise<number>;
  /**
   * CPU used so far, the event loop's lateness since the last call, system calls and memory
   * (see `server-child.ts`); `afterGc` runs a full garbage collection first.
   */
  stats(afterGc?: boolean): Promise<ChildStats>;
  stop(): Promise<void>;
}

export interface ChildStats {
  cpuUserUs: number;
  cpuSystemUs: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** read/write system calls so far (all threads), 0 where /proc is missing. */
  readCalls: number;
  writeCalls: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Garbage-collection pauses since the last call: how many, their sum and the longest. */
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
}

const entry = fileURLToPath(new URL('./server-child.ts', import.meta.url));

/** Starts `server-child.ts` with a role and waits until it listens on a loopback port. */
export async function startChildServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  // BENCH_CPU_PROF=<dir> profiles the real proxy (`node --cpu-prof`); open the .cpuprofile files
  // in Chromium's DevTools (Performance) or speedscope.
  const profileDir = process.env.BENCH_CPU_PROF;
  const child = fork(entry, args, {
    env: { ...process.env, ...env },
    execArgv: [...process.execArgv, '--expose-gc', ...(profileDir !== undefined && args[0] === 'app' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`server child (${args[0]}) exited with ${code} before listening`)));
    child.once('error', reject);
  });
  const pid = child.pid ?? 0;
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    async rss() {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return Number(kb ?? 0) * 1024;
    },
    stats(afterGc = false) {
      return new Promise<ChildStats>((resolve, reject) => {
        const onMessage = (message: unknown) => {
          const stats = (message as { stats?: ChildStats }).stats;
          if (stats === undefined) return;
          child.off('message', onMessage);
          resolve(stats);
        };
        child.on('message', onMessage);
        child.send(afterGc ? 'stats-after-gc' : 'stats', (error) => {
          if (error === null) return;
          child.off('message', onMessage);
          reject(error);
        });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
