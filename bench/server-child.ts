import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createMockUpstream } from './mock-upstream.js';
import { createPipeProxy } from './pipe-proxy.js';

/**
 * Entry of a child process that runs one server, so that each server has its own event loop and
 * its own measurable RSS: `mock`, `pipe <upstream>` or `app <upstream> <db dir> [<demo dir>]`.
 * It reports `{ port }` over IPC once listening and exits when told `stop` or when the parent goes.
 */
const [role, upstream = '', dataDir = '', demoDir] = process.argv.slice(2);

async function start(): Promise<{ server: Server; close: () => Promise<void> }> {
  switch (role) {
    case 'mock':
      return { server: createMockUpstream(), close: async () => {} };
    case 'pipe':
      return { server: createPipeProxy(upstream), close: async () => {} };
    case 'app': {
      const { createBenchApp } = await import('./bench-app.js');
      return createBenchApp(upstream, dataDir, demoDir);
    }
    default:
      throw new Error(`unknown role ${role}`);
  }
}

const { server, close } = await start();
// A deep backlog: the capacity ramp opens thousands of connections within a second.
server.listen({ host: '127.0.0.1', port: 0, backlog: 16_384 }, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.send?.({ port: address.port });
});

const stop = () => {
  server.closeAllConnections();
  server.close();
  void close().finally(() => process.exit(0));
};
// `stats` answers the CPU time this process has used and how late its event loop ran since the
// last `stats` (so the parent can price a request or a token, and see a loop that blocks).
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
// Garbage-collection pauses since the last `stats` (each one stops the loop).
let gcPauses = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauses.count++;
    gcPauses.totalMs += entry.duration;
    gcPauses.maxMs = Math.max(gcPauses.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });
process.on('message', (message) => {
  if (message === 'stop') stop();
  if (message === 'stats' || message === 'stats-after-gc') {
    // `--expose-gc` (child-server.ts): the heap after a full collection is what the open streams
    // keep alive, without the garbage that RSS also carries until the next collection.
    if (message === 'stats-after-gc') (globalThis as { gc?: () => void }).gc?.();
    const cpu = process.cpuUsage();
    process.send?.({
      stats: {
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        loopDelayP50Ms: loopDelay.percentile(50) / 1e6,
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        loopDelayMaxMs: loopDelay.max / 1e6,
        ...syscalls(),
        ...memory(),
        gcCount: gcPauses.count,
        gcTotalMs: gcPauses.totalMs,
        gcMaxMs: gcPauses.maxMs,
      },
    });
    loopDelay.reset();
    gcPauses = { count: 0, totalMs: 0, maxMs: 0 };
  }
});

/** The V8 heap and what lives outside it (Buffers, native objects), in bytes. */
function memory(): { heapUsed: number; heapTotal: number; external: number } {
  const { heapUsed, heapTotal, external } = process.memoryUsage();
  return { heapUsed, heapTotal, external };
}

/** Read and write system calls so far (sockets and files alike), from /proc; zeros elsewhere. */
function syscalls(): { readCalls: number; writeCalls: number } {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    return { readCalls: Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0), writeCalls: Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0) };
  } catch {
    return { readCalls: 0, writeCalls: 0 };
  }
}
process.on('disconnect', stop);
