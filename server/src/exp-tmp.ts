import { SqliteStore } from './store/sqlite-store.js';
const store = new SqliteStore({ path: '/tmp/inbox-exp.db' });
async function t(label: string, f: () => Promise<unknown>, n = 50) { const s: number[] = []; for (let i = 0; i < n; i++) { const a = performance.now(); await f(); s.push(performance.now() - a); } s.sort((a, b) => a - b); console.log(label, 'p50', s[n >> 1]!.toFixed(2), 'p90', s[Math.floor(n * 0.9)]!.toFixed(2), 'max', s[n - 1]!.toFixed(2)); }
await t('list', () => store.listConversations({ limit: 50 }));
await t('list down', () => store.listConversations({ limit: 50, rating: 'down' }));
await t('search order', () => store.listConversations({ limit: 50, text: 'order' }));
await t('search please', () => store.listConversations({ limit: 50, text: 'please' }));
await t('search order down', () => store.listConversations({ limit: 50, text: 'order', rating: 'down' }));
await t('search order failed (none)', () => store.listConversations({ limit: 50, text: 'order', problem: 'failed' }), 5);
await t('figures 14d', () => store.dailyFigures(Date.UTC(2030, 1, 10), Date.UTC(2030, 1, 24)), 10);
await store.close();
