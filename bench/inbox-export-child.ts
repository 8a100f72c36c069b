/**
 * The inbox export in a process of its own (`inbox.ts` forks it): the real app (the built server,
 * as `bench-app.ts` loads it) on the bench's SQLite file, a real sign-in, and
 * `GET /api/inbox/export?format=jsonl` read to the end by a client in the same process. The V8
 * heap is capped (`--max-old-space-size`, set by the parent) below the size of the export, and the
 * live heap is measured after a full GC every 10,000 lines: what the export holds, not garbage
 * waiting for a collection.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverModule } from './bench-app.js';
import { workspaceImport } from './workspace-import.js';

const gc = (globalThis as { gc?: () => void }).gc;
const path = process.argv[2];
if (gc === undefined || path === undefined) throw new Error('usage: node --expose-gc inbox-export-child.ts <database file>');

const PASSWORD = 'bench passphrase for the inbox';
const { parseConfig } = await serverModule<typeof import('../server/src/config.js')>('config');
const { createApp } = await serverModule<typeof import('../server/src/app.js')>('app');
const { SqliteStore } = await serverModule<typeof import('../server/src/store/sqlite-store.js')>('store/sqlite-store');
const { hashPassword } = await serverModule<typeof import('../server/src/inbox/password-hash.js')>('inbox/password-hash');
const { createUpstreamClient } = await serverModule<typeof import('../server/src/upstream/upstream-client.js')>('upstream/upstream-client');
const { pino } = await workspaceImport<typeof import('pino')>('server', 'pino');

// Listening first: the inbox checks `Origin` against the public origin, which is this address.
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const config = parseConfig({
  OPENAI_API_KEY: 'sk-bench',
  CHATDROP_DB: path,
  CHATDROP_PUBLIC_URL: origin,
  CHATDROP_INBOX_USERS: `bench:${await hashPassword(PASSWORD, { logN: 10, r: 8, p: 1 })}`,
});
const store = new SqliteStore({ path });
const logger = pino({ level: 'warn' }, pino.destination({ dest: '/dev/null', sync: false }));
server.on('request', createApp({ config, store, openai: createUpstreamClient(config), logger, demo: false }));
try {
  const signIn = await fetch(`${origin}/api/inbox/session`, {
    method: 'POST',
    headers: { Origin: origin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: 'bench', password: PASSWORD }),
  });
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  gc();
  const base = process.memoryUsage().heapUsed;
  let live = base;
  const started = performance.now();
  const response = await fetch(`${origin}/api/inbox/export?format=jsonl`, { headers: { Cookie: cookie } });
  if (response.status !== 200) throw new Error(`the export answered ${response.status}`);
  const reader = response.body!.getReader();
  let bytes = 0;
  let lines = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    for (const byte of value) {
      if (byte !== 10) continue;
      if (++lines % 10_000 === 0) {
        gc();
        live = Math.max(live, process.memoryUsage().heapUsed);
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.send?.({ seconds, bytes, lines, heapGrowth: live - base, heapBase: base });
} finally {
  server.closeAllConnections();
  server.close();
  await store.close();
}
