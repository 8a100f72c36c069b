import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { csvCell } from '../inbox/csv-cell.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { freePort } from '../test/redis-server.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { launchChromium } from './chromium.js';
import { WIDGET_FILE } from './e2e-harness.js';
import { startHostPage, type HostPage } from './host-page.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const INBOX_PAGE = fileURLToPath(new URL('../../inbox-ui/dist/index.html', import.meta.url));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PASSPHRASE = 'plum orchard under seven moons';

/** Runs the real `pnpm inbox-user NAME` with the password on standard input; answers its entry. */
async function inboxUserEntry(name: string, password: string): Promise<string> {
  const child = spawn('pnpm', ['--silent', 'inbox-user', name], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdin.end(`${password}\n`);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`pnpm inbox-user exited ${code}: ${err}`);
  const entry = out.split('\n').find((line) => line.startsWith(`${name}:scrypt$`));
  if (entry === undefined) throw new Error(`no entry in the output of pnpm inbox-user: ${out}`);
  expect(out).not.toContain(password);
  return entry;
}

interface AxeViolation {
  id: string;
  nodes: Array<{ target: unknown; failureSummary: string }>;
}

/** axe-core on the whole inbox page, WCAG 2.x A and AA. */
async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // The page's CSP forbids eval-like script injection from the page itself; Playwright's
  // evaluate runs in an isolated world, which the CSP does not govern.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
}

/** One turn through the real chat API; answers the conversation and reply ids. */
async function chat(server: TestServer, body: Record<string, unknown>): Promise<{ conversationId: string; messageId: string }> {
  const { events } = await readEvents(await postChat(server.url, body));
  const start = events[0]?.event;
  if (start?.type !== 'message-start') throw new Error('no message-start');
  return { conversationId: start.conversationId, messageId: start.messageId };
}

async function rate(server: TestServer, turn: { conversationId: string; messageId: string }, rating: 'up' | 'down'): Promise<void> {
  const response = await fetch(`${server.url}/api/feedback`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...turn, rating }) });
  expect(response.status).toBe(204);
}

/** The conversation links of the listing, in order, by their first question. */
const listed = (page: Page) => page.locator('ol.conversations > li a.question').allTextContents();

describe('the support inbox, in Chromium against the real server', () => {
  let upstream: MockUpstream;
  let host: HostPage;
  let server: TestServer;
  let port: number;
  let env: Record<string, string>;
  let dir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const turns: Record<string, { conversationId: string; messageId: string }> = {};

  beforeAll(async () => {
    if (!existsSync(INBOX_PAGE)) throw new Error(`${INBOX_PAGE} is missing: build it first (pnpm test does).`);
    const entry = await inboxUserEntry('lead', PASSPHRASE);
    upstream = await startMockUpstream();
    host = await startHostPage();
    port = await freePort();
    env = {
      CHATDROP_PUBLIC_URL: `http://127.0.0.1:${port}`,
      CHATDROP_INBOX_USERS: entry,
      ALLOWED_ORIGINS: new URL(host.url).origin,
      CHATDROP_RATE_LIMIT: '1000',
    };
    // Our own database file, so a restart can open it again.
    dir = mkdtempSync(join(tmpdir(), 'chatdrop-inbox-e2e-'));
    server = await startTestServer({ upstream, port, widgetFile: WIDGET_FILE, env, dbPath: join(dir, 'chatdrop.db') });

    // Conversations made through the API, oldest first.
    upstream.script({ kind: 'deltas', deltas: ['Refunds take ', '5 days.'] });
    turns.refund = await chat(server, { message: 'When will I get my refund?', page: 'https://shop.example/help/refunds' });
    await rate(server, turns.refund, 'down');
    upstream.script({ kind: 'deltas', deltas: ['Use the **Reset** link.'] });
    turns.password = await chat(server, { message: 'How do I reset my password?' });
    await rate(server, turns.password, 'up');
    upstream.script({ kind: 'deltas', deltas: ['I cannot ', 'see that.'] });
    turns.hostile = await chat(server, { message: '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> is my order lost?' });
    await rate(server, turns.hostile, 'down');
    upstream.script({ kind: 'deltas', deltas: ['We ship worldwide.'] });
    turns.shipping = await chat(server, { message: 'Do you ship to Norway?' });

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Trusted Type|Refused to/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  }, 120_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    await server?.close();
    await host?.close();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a conversation the widget started, with the page it started on', async () => {
    const visitor = await browser.newContext();
    try {
      const tab = await visitor.newPage();
      host.set({ widgetUrl: `${server.url}/widget.js` });
      upstream.script({ kind: 'deltas', deltas: ['Our returns window ', 'is 30 days.'] });
      await tab.goto(`${host.url}/help/returns?order=12345#faq`);
      await tab.getByRole('button', { name: 'Open chat' }).click();
      await tab.getByRole('textbox', { name: 'Message' }).fill('Can I return a gift?');
      await tab.keyboard.press('Enter');
      await expect.poll(() => tab.getByRole('log').textContent(), { timeout: 15_000 }).toContain('30 days');
    } finally {
      await visitor.close();
    }
    const [summary] = (await server.store.listConversations({ limit: 1 })).conversations;
    expect(summary).toMatchObject({ firstQuestion: 'Can I return a gift?', page: `${host.url}/help/returns` });
  });

  it('signs in with an entry made by pnpm inbox-user, behind a cookie no script can read', async () => {
    await page.goto(`${server.url}/inbox`);
    await page.getByLabel('User').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.getByLabel('User').fill('lead');
    await page.getByLabel('Password').fill('not the passphrase');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('do not match');
    await page.getByLabel('Password').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Conversations' }).waitFor();

    const cookies = await context.cookies(server.url + '/api/inbox');
    expect(cookies).toEqual([expect.objectContaining({ name: 'chatdrop-inbox', httpOnly: true, sameSite: 'Strict', path: '/api/inbox' })]);
    expect(await page.evaluate(() => document.cookie)).not.toContain('chatdrop-inbox');
  });

  it('lists the conversations made through the API, newest first, with their marks', async () => {
    await expect.poll(() => listed(page)).toEqual([
      'Can I return a gift?',
      'Do you ship to Norway?',
      '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> is my order lost?',
      'How do I reset my password?',
      'When will I get my refund?',
    ]);
    const refund = page.locator('ol.conversations > li').filter({ hasText: 'When will I get my refund?' });
    expect(await refund.textContent()).toContain('https://shop.example/help/refunds');
    expect(await refund.textContent()).toContain('1 down rating');
    expect(await axeViolations(page)).toEqual([]);
  });

  it('searches the words of visitors and assistant', async () => {
    await page.getByLabel('Search words').fill('worldwide');
    await page.keyboard.press('Enter');
    await expect.poll(() => listed(page)).toEqual(['Do you ship to Norway?']);
    expect(new URL(page.url()).searchParams.get('q')).toBe('worldwide');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => listed(page)).toHaveLength(5);
  });

  it('filters by a down rating, kept in the URL for a colleague', async () => {
    await page.getByLabel('Rating').selectOption('down');
    await page.getByRole('button', { name: 'Apply' }).click();
    const downRated = ['<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> is my order lost?', 'When will I get my refund?'];
    await expect.poll(() => listed(page)).toEqual(downRated);
    expect(new URL(page.url()).searchParams.get('rating')).toBe('down');
    // A colleague opening the link sees the same list.
    const colleague = await context.newPage();
    await colleague.goto(page.url());
    await expect.poll(() => listed(colleague)).toEqual(downRated);
    expect(await colleague.getByLabel('Rating').inputValue()).toBe('down');
    await colleague.close();
  });

  it('opens one conversation in full, shows a visitor\'s markup as characters and runs none of it', async () => {
    await page.getByRole('link', { name: /is my order lost/ }).click();
    await page.getByRole('heading', { name: 'Conversation' }).waitFor();
    const visitor = page.locator('.message.visitor .visitor-text');
    await expect.poll(() => visitor.textContent()).toBe('<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> is my order lost?');
    expect(await page.locator('.transcript img, .transcript script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    const reply = page.locator('.message.assistant');
    expect(await reply.textContent()).toContain('I cannot see that.');
    expect(await reply.textContent()).toContain('Not helpful');
    expect(await reply.textContent()).toContain('fast');
    expect(await reply.textContent()).toMatch(/first words after \d/);
    expect(await axeViolations(page)).toEqual([]);
    // Back keeps the filter.
    await page.goBack();
    await expect.poll(() => listed(page)).toHaveLength(2);
  });

  it('renders the assistant\'s markdown through the widget\'s renderer', async () => {
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('link', { name: 'How do I reset my password?' }).click();
    await page.locator('.message.assistant strong').waitFor();
    expect(await page.locator('.message.assistant strong').textContent()).toBe('Reset');
    expect(await page.locator('.message.assistant').textContent()).toContain('Helpful');
    await page.getByRole('link', { name: /Back to the conversations/ }).click();
  });

  it('exports what is filtered as JSONL and as CSV, and both parse', async () => {
    await page.getByLabel('Rating').selectOption('down');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => listed(page)).toHaveLength(2);

    const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export JSONL' }).click()]);
    expect(jsonl.suggestedFilename()).toMatch(/^chatdrop-conversations-\d{4}-\d{2}-\d{2}\.jsonl$/);
    const lines = readFileSync(await jsonl.path(), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { id: string; messages: { role: string; rating?: string }[] });
    expect(lines.map((l) => l.id)).toEqual([turns.hostile!.conversationId, turns.refund!.conversationId]);
    expect(lines[1]!.messages[1]).toMatchObject({ role: 'assistant', rating: 'down' });

    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    const text = readFileSync(await csv.path(), 'utf8').replace(/^\uFEFF/, '');
    const rows = text.trimEnd().split('\r\n');
    expect(rows[0]).toMatch(/^conversation_id,conversation_started,page,/);
    // Two conversations of two messages each; a message's newline would be inside quotes.
    expect(rows).toHaveLength(5);
    // Ids are random base64url: one in 64 starts with "-", which the CSV defuses like any other cell.
    expect(rows[1]!.startsWith(`${csvCell(turns.hostile!.conversationId)},`)).toBe(true);
    const exported = server.logs.filter((line) => line.includes('inbox export ended'));
    expect(exported).toHaveLength(2);
    expect(exported.every((line) => line.includes('"user":"lead"'))).toBe(true);
  });

  it('deletes one conversation, everywhere', async () => {
    await page.getByRole('link', { name: 'When will I get my refund?' }).click();
    await page.getByRole('button', { name: 'Delete conversation' }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete conversation' }).click();
    await expect.poll(() => listed(page)).toEqual(['<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> is my order lost?']);
    expect((await fetch(`${server.url}/api/conversations/${turns.refund!.conversationId}`)).status).toBe(404);
    expect(server.logs.some((line) => line.includes('inbox conversation deleted') && line.includes('"user":"lead"'))).toBe(true);
  });

  it('works by keyboard alone: search, open, back', async () => {
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => listed(page)).toHaveLength(4);
    await page.getByLabel('Search words').focus();
    await page.keyboard.type('Norway');
    await page.keyboard.press('Enter');
    await expect.poll(() => listed(page)).toEqual(['Do you ship to Norway?']);
    // From the search field, Tab reaches the conversation's link and Enter opens it.
    let reached = false;
    for (let i = 0; i < 30 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'Do you ship to Norway?');
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Conversation' }).waitFor();
    // The new view's heading has the focus.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Conversation');
    await page.goBack();
    await expect.poll(() => listed(page)).toEqual(['Do you ship to Norway?']);
  });

  it('shows the daily figures', async () => {
    await page.getByRole('link', { name: 'Daily figures' }).click();
    const today = page.getByRole('row').filter({ hasText: new Date().toISOString().slice(0, 10) });
    await today.waitFor();
    // Day, conversations (4 left after one deletion), messages, up, down.
    const cells = await today.locator('th, td').allTextContents();
    expect(cells.slice(1, 6)).toEqual(['4', '8', '1', '1', '0']);
    expect(await axeViolations(page)).toEqual([]);
  });

  it('works on a phone: nothing wider than the screen, the same controls', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    try {
      await phone.addCookies(await context.cookies());
      const tab = await phone.newPage();
      await tab.goto(`${server.url}/inbox`);
      await expect.poll(() => listed(tab)).toHaveLength(4);
      const overflow = () => tab.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(await overflow()).toBe(0);
      expect(await axeViolations(tab)).toEqual([]);
      await tab.getByRole('link', { name: /is my order lost/ }).click();
      await tab.getByRole('button', { name: 'Delete conversation' }).waitFor();
      expect(await overflow()).toBe(0);
      expect(await axeViolations(tab)).toEqual([]);
    } finally {
      await phone.close();
    }
  });

  it('keeps the session across a server restart', async () => {
    await server.close();
    server = await startTestServer({ upstream, port, widgetFile: WIDGET_FILE, env, dbPath: join(dir, 'chatdrop.db') });
    await page.goto(`${server.url}/inbox`);
    await expect.poll(() => listed(page)).toHaveLength(4);
    expect(await page.getByLabel('Password').count()).toBe(0);
  });

  it('signs out, and the page asks for the sign-in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Password').waitFor();
    await page.goto(`${server.url}/inbox`);
    await page.getByLabel('Password').waitFor();
    expect(await context.cookies(server.url + '/api/inbox')).toEqual([]);
  });

  it('broke no rule of its Content Security Policy, and threw nothing', () => {
    expect(problems).toEqual([]);
  });
});
