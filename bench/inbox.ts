import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConversationStore } from '../server/src/store/conversation-store.js';
import type { InboxQuery } from '../server/src/store/inbox-query.js';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { percentile } from './percentile.js';
import { workspaceImport } from './workspace-import.js';

const CONVERSATIONS = 100_000;
const PAGE = 50;
const RUNS = 200;
const TARGET_MS = 50;
const TARGET = `p99 < ${TARGET_MS} ms`;
const DAY = 24 * 60 * 60 * 1000;
/** One conversation every 50 s: 100,000 of them span the last 58 days. */
const SPACING_MS = 50_000;

/** A small deterministic PRNG (mulberry32), so every run builds the same inbox. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOPICS = ['password', 'invoice', 'delivery', 'refund', 'account', 'subscription', 'discount', 'warranty', 'size', 'login'];
const FILLER = 'please could you help me with this as soon as possible because I tried the help pages already';

/**
 * The support inbox on SQLite (issue: "list and search p50/p99 over 100,000 conversations, target
 * under 50 ms p99 for a page of 50"). A real SqliteStore in a temp dir gets 100,000 conversations
 * through its own API (question with a page, a streamed reply finished with its metadata, 10%
 * rated down, 15% up, 2% failed); about 30% mention "order", 0.1% "zeppelin". Then a page of 50:
 * the newest, 40 pages deep by cursor, rated down in the last 7 days, a common word, a rare word,
 * a word with a filter; each against raw better-sqlite3 reading 50 rows of the same index in the
 * same run. And the JSONL export of all 100,000 through the real HTTP route, with how far the
 * heap grew while it streamed.
 */
export async function inboxBench(): Promise<Measured[]> {
  const dir = await mkdtemp(join(tmpdir(), 'chatdrop-bench-inbox-'));
  try {
    const { SqliteStore } = await import('../server/src/store/sqlite-store.js');
    // The store's clock runs through the last 58 days while it is filled, then follows the real
    // one (sign-in sessions expire by it).
    let now = Date.now() - CONVERSATIONS * SPACING_MS;
    let live = false;
    const path = join(dir, 'inbox.db');
    const store = new SqliteStore({ path, now: () => (live ? Date.now() : now) });
    const built = performance.now();
    try {
      await fill(store, () => (now += SPACING_MS));
    } catch (error) {
      await store.close();
      return [notMeasured('Inbox list, 50 newest', 'ms', `could not build the inbox: ${(error as Error).message}`, TARGET)];
    }
    const buildSeconds = (performance.now() - built) / 1000;
    const end = now;
    live = true;
    // The fill never yields to the indexing rounds' timer: the first search indexes everything.
    const caughtUp = performance.now();
    await store.listConversations({ limit: 1, text: 'warm' });
    const indexSeconds = (performance.now() - caughtUp) / 1000;
    process.stderr.write(`bench: inbox of ${CONVERSATIONS} conversations built in ${buildSeconds.toFixed(0)} s\n`);
    const rows: Measured[] = [];
    try {
      const { default: Database } = await workspaceImport<{ default: typeof import('better-sqlite3') }>('server', 'better-sqlite3');
      const raw = new Database(path, { readonly: true });
      try {
        const rawList = raw.prepare('SELECT id, created_at FROM conversations ORDER BY created_at DESC, id DESC LIMIT 50');
        const rawSearch = raw.prepare('SELECT rowid FROM messages_search WHERE messages_search MATCH ? ORDER BY rowid DESC LIMIT 50');
        const baseList = times(() => rawList.all());
        const baseSearch = (word: string) => times(() => rawSearch.all(`"${word}"*`));
        const lastWeek = { from: end - 7 * DAY };
        const cases: { figure: string; query: InboxQuery; base: number[]; baseline: string; deep?: boolean }[] = [
          { figure: 'Inbox list, 50 newest', query: { limit: PAGE }, base: baseList, baseline: 'raw SELECT of 50 rows by the same index' },
          { figure: 'Inbox list, pages 1–40 by cursor', query: { limit: PAGE }, base: baseList, baseline: 'raw SELECT of 50 rows', deep: true },
          { figure: 'Inbox list, rated down in the last 7 days', query: { limit: PAGE, rating: 'down', ...lastWeek }, base: baseList, baseline: 'raw SELECT of 50 rows' },
          { figure: 'Inbox search, common word (30%)', query: { limit: PAGE, text: 'order' }, base: baseSearch('order'), baseline: 'raw FTS5 MATCH, 50 rowids' },
          { figure: 'Inbox search, common word, pages 1–40', query: { limit: PAGE, text: 'order' }, base: baseSearch('order'), baseline: 'raw FTS5 MATCH, 50 rowids', deep: true },
          { figure: 'Inbox search, rare word (0.1%)', query: { limit: PAGE, text: 'zeppelin' }, base: baseSearch('zeppelin'), baseline: 'raw FTS5 MATCH, 50 rowids' },
          { figure: 'Inbox search, common word + rated down', query: { limit: PAGE, text: 'order', rating: 'down' }, base: baseSearch('order'), baseline: 'raw FTS5 MATCH, 50 rowids' },
        ];
        for (const c of cases) {
          const samples = c.deep ? await deepTimes(store, c.query) : await asyncTimes(() => store.listConversations(c.query));
          const p50 = percentile(samples, 50);
          const p99 = percentile(samples, 99);
          rows.push(
            measured({ figure: `${c.figure}, p50`, unit: 'ms', value: round(p50, 2), baseline: c.baseline, baselineValue: round(percentile(c.base, 50), 3) }),
            measured({ figure: `${c.figure}, p99`, unit: 'ms', value: round(p99, 2), baseline: c.baseline, baselineValue: round(percentile(c.base, 99), 3), target: TARGET, met: p99 < TARGET_MS }),
          );
        }
        const figures = await asyncTimes(() => store.dailyFigures(end - 14 * DAY, end), 20);
        rows.push(measured({ figure: 'Inbox daily figures, 14 days, p50', unit: 'ms', value: round(percentile(figures, 50), 1), note: `${CONVERSATIONS / 58 | 0} conversations a day` }));
        rows.push(...(await handoffRows(path, store, raw, baseList)));
      } finally {
        raw.close();
      }
      rows.push(...(await exportRows(path)));
      rows[0]!.note = `${CONVERSATIONS.toLocaleString('en')} conversations built through the store in ${buildSeconds.toFixed(0)} s, their ${2 * CONVERSATIONS} messages indexed in ${indexSeconds.toFixed(1)} s`;
      return rows;
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fill(store: ConversationStore, tick: () => number): Promise<void> {
  const rand = random(7);
  for (let i = 0; i < CONVERSATIONS; i++) {
    tick();
    const topic = TOPICS[Math.floor(rand() * TOPICS.length)]!;
    const order = rand() < 0.3 ? ' about my order' : '';
    const rare = i % 1000 === 0 ? ' on the zeppelin tour' : '';
    const id = await store.createConversation();
    await store.appendMessage(id, { role: 'user', content: `Question ${i}: what about my ${topic}${order}${rare}? ${FILLER}`, status: 'complete', page: `https://help.example.com/${topic}` });
    const reply = await store.appendMessage(id, { role: 'assistant', content: '', status: 'incomplete' });
    if (reply === undefined) throw new Error('the store lost a conversation');
    const failed = rand() < 0.02;
    await store.updateMessage(id, reply.id, {
      content: `About your ${topic}: open the ${topic} page, follow the steps there, and write to us if it still does not work.`,
      status: failed ? 'incomplete' : 'complete',
      meta: { model: 'fast', upstreamModel: 'gpt-4.1-mini', finishReason: failed ? 'error' : 'stop', firstTokenMs: 300, durationMs: 1800, inputTokens: 220, outputTokens: 60 },
    });
    const r = rand();
    if (r < 0.1) await store.setFeedback(id, reply.id, 'down');
    else if (r < 0.25) await store.setFeedback(id, reply.id, 'up');
  }
}

function times(run: () => unknown, runs = RUNS): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    run();
    samples.push(performance.now() - t);
  }
  return samples;
}

async function asyncTimes(run: () => Promise<unknown>, runs = RUNS): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run();
    samples.push(performance.now() - t);
  }
  return samples;
}

/** Every 20th conversation has a hand-off: 5,000 of the 100,000. */
const HANDOFF_EVERY = 20;

/**
 * The inbox's hand-off filter and marks over the real SQLite outbox in the same file: 5,000
 * hand-offs (two channels each) among the 100,000 conversations. The filter walks the outbox's
 * index of them in the listing's order and asks the store which of each batch pass the other
 * filters (`listHandedOff`); the marks read a page's hand-offs with their deliveries. Both
 * through `inboxHandoffs`, as the inbox reads them.
 */
async function handoffRows(path: string, store: ConversationStore, raw: import('better-sqlite3').Database, baseList: number[]): Promise<Measured[]> {
  const { SqliteOutbox } = await import('../server/src/handoff/sqlite-outbox.js');
  const { inboxHandoffs } = await import('../server/src/handoff/inbox-handoffs.js');
  const { listHandedOff } = await import('../server/src/inbox/handoff-listing.js');
  const outbox = new SqliteOutbox({ path });
  try {
    const picked = raw.prepare(`SELECT id, created_at FROM conversations WHERE num % ${HANDOFF_EVERY} = 0`).all() as { id: string; created_at: number }[];
    for (const { id, created_at } of picked) {
      await outbox.add(
        { conversationId: id, conversationCreatedAt: created_at, email: 'visitor@example.com', note: null, page: null, transcript: [{ role: 'user', content: 'Talk to a person', createdAt: new Date(created_at).toISOString() }], channels: ['webhook', 'email'] },
        { now: created_at + 60_000, duplicateWindowMs: 1, perConversation: 3, windowMs: 1 },
      );
    }
    const handoffs = inboxHandoffs(outbox);
    const note = `${picked.length.toLocaleString('en')} hand-offs among ${CONVERSATIONS.toLocaleString('en')} conversations, in the SQLite outbox`;
    const filter = await asyncTimes(() => listHandedOff(store, handoffs, { limit: PAGE }));
    const deep: number[] = [];
    for (let round = 0; round < 5; round++) {
      let cursor: string | undefined;
      for (let page = 0; page < 40; page++) {
        const t = performance.now();
        const result = await listHandedOff(store, handoffs, { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
        deep.push(performance.now() - t);
        cursor = result.next;
        if (cursor === undefined) break;
      }
    }
    const withWord = await asyncTimes(() => listHandedOff(store, handoffs, { limit: PAGE, text: 'order' }));
    const withRating = await asyncTimes(() => listHandedOff(store, handoffs, { limit: PAGE, rating: 'down' }));
    const marks = await asyncTimes(async () => {
      const page = await store.listConversations({ limit: PAGE });
      return handoffs.handoffsFor(page.conversations.map((c) => c.id));
    });
    const rows: Measured[] = [];
    for (const [figure, samples] of [
      ['Inbox list, hand-off filter', filter],
      ['Inbox list, hand-off filter, pages 1–40', deep],
      ['Inbox list, hand-off filter + common word', withWord],
      ['Inbox list, hand-off filter + rated down', withRating],
      ['Inbox list, 50 newest with their hand-off marks', marks],
    ] as const) {
      const p99 = percentile(samples, 99);
      rows.push(
        measured({ figure: `${figure}, p50`, unit: 'ms', value: round(percentile(samples, 50), 2), baseline: 'raw SELECT of 50 rows', baselineValue: round(percentile(baseList, 50), 3), note }),
        measured({ figure: `${figure}, p99`, unit: 'ms', value: round(p99, 2), baseline: 'raw SELECT of 50 rows', baselineValue: round(percentile(baseList, 99), 3), target: TARGET, met: p99 < TARGET_MS }),
      );
    }
    return rows;
  } catch (error) {
    return [notMeasured('Inbox list, hand-off filter, p99', 'ms', `could not build the hand-offs: ${(error as Error).message}`, TARGET)];
  } finally {
    await outbox.close();
  }
}

/** Each of the first 40 pages, following the cursors, five times over. */
async function deepTimes(store: ConversationStore, query: InboxQuery): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    let cursor: string | undefined;
    for (let page = 0; page < 40; page++) {
      const t = performance.now();
      const result = await store.listConversations({ ...query, ...(cursor === undefined ? {} : { cursor }) });
      samples.push(performance.now() - t);
      cursor = result.next;
      if (cursor === undefined) break;
    }
  }
  return samples;
}

/** The heap the export's process may have, in MB: less than the export itself. */
const EXPORT_HEAP_MB = 64;

/**
 * `GET /api/inbox/export?format=jsonl` of every conversation, through the real app and a real
 * sign-in, in a child process whose heap is capped below the size of the export
 * (`inbox-export-child.ts`): that it finishes at all shows the export is streamed.
 */
export async function exportRows(path: string): Promise<Measured[]> {
  const { fork } = await import('node:child_process');
  const child = fork(fileURLToPath(new URL('./inbox-export-child.ts', import.meta.url)), [path], {
    execArgv: [...process.execArgv, '--expose-gc', `--max-old-space-size=${EXPORT_HEAP_MB}`],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const result = await new Promise<{ seconds: number; bytes: number; lines: number; heapGrowth: number; heapBase: number } | Error>((resolve) => {
    child.once('message', (message) => resolve(message as never));
    child.once('exit', (code) => resolve(new Error(`the export's process exited with ${code}`)));
    child.once('error', resolve);
  });
  if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  const figure = 'Inbox export, 100,000 conversations as JSONL';
  if (result instanceof Error) return [notMeasured(figure, 's', `${result.message} (heap capped at ${EXPORT_HEAP_MB} MB)`)];
  if (result.lines !== CONVERSATIONS) return [notMeasured(figure, 's', `exported ${result.lines} lines, not ${CONVERSATIONS}`)];
  const mb = (n: number) => round(n / 1024 / 1024, 1);
  return [
    measured({ figure, unit: 's', value: round(result.seconds, 1), note: `${mb(result.bytes)} MB at ${round(result.bytes / 1024 / 1024 / result.seconds, 1)} MB/s` }),
    measured({
      figure: 'Inbox export: live heap growth while streaming',
      unit: 'MB',
      value: mb(result.heapGrowth),
      baseline: 'the whole export',
      baselineValue: mb(result.bytes),
      note: `after a full GC every 10,000 lines; the process's heap was capped at ${EXPORT_HEAP_MB} MB`,
    }),
  ];
}
