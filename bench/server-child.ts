import type { Server } from 'node:http';
import { createMockUpstream } from './mock-upstream.js';
import { createPipeProxy } from './pipe-proxy.js';

/**
 * Entry of a child process that runs one server, so that each server has its own event loop and
 * its own measurable RSS: `mock`, `pipe <upstream>` or `app <upstream> <db dir>`.
 * It reports `{ port }` over IPC once listening and exits when told `stop` or when the parent goes.
 */
const [role, upstream = '', dataDir = ''] = process.argv.slice(2);

async function start(): Promise<{ server: Server; close: () => Promise<void> }> {
  switch (role) {
    case 'mock':
      return { server: createMockUpstream(), close: async () => {} };
    case 'pipe':
      return { server: createPipeProxy(upstream), close: async () => {} };
    case 'app': {
      const { createBenchApp } = await import('./bench-app.js');
      return createBenchApp(upstream, dataDir);
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
process.on('message', (message) => {
  if (message === 'stop') stop();
});
process.on('disconnect', stop);
