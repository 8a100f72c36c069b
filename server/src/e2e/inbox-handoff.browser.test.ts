import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PASSWORD, startInboxServer } from '../test/inbox-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import type { TestServer } from '../test/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../test/webhook-receiver.js';
import { launchChromium } from './chromium.js';

const INBOX_PAGE = fileURLToPath(new URL('../../inbox-ui/dist/index.html', import.meta.url));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  nodes: Array<{ target: unknown; failureSummary: string }>;
}

/** axe-core on the whole page, WCAG 2.x A and AA (in Playwright's isolated world: the page's CSP allows no injected script). */
async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
}

const listed = (page: Page) => page.locator('ol.conversations > li a.question').allTextContents();
const row = (page: Page, question: string) => page.locator('ol.conversations > li').filter({ hasText: question });

describe('hand-offs and knowledge in the support inbox, in Chromium against the real server', () => {
  let upstream: MockUpstream;
  let hook: WebhookReceiver;
  let server: TestServer;
  let folder: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  /** A visitor's turn on a help page, then "Talk to a person" through the real route. */
  const handOff = async (message: string, note: string): Promise<void> => {
    upstream.script({ kind: 'deltas', deltas: ['I could not find that ', 'in our help pages.'] });
    const { events } = await readEvents(await postChat(server.url, { message, page: 'https://help.example.com/account' }));
    const start = events[0]?.event;
    if (start?.type !== 'message-start') throw new Error('no message-start');
    const response = await fetch(`${server.url}/api/handoff`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ conversationId: start.conversationId, email: 'visitor@example.com', note }),
    });
    expect(response.status).toBe(202);
  };

  beforeAll(async () => {
    if (!existsSync(INBOX_PAGE)) throw new Error(`${INBOX_PAGE} is missing: build it first (pnpm test does).`);
    upstream = await startMockUpstream();
    // The first delivery is refused with a 500 (retried 10 minutes later); the next is taken.
    hook = await startWebhookReceiver(['fail']);
    folder = mkdtempSync(join(tmpdir(), 'chatdrop-inbox-handoff-e2e-'));
    writeFileSync(join(folder, 'sign-in.md'), '# Signing in\n\n## Locked out\n\nAfter five wrong passwords the account is locked for fifteen minutes.\n');
    writeFileSync(join(folder, 'draft.html'), '<html><head><meta name="robots" content="noindex"><title>Draft</title></head><body><p>Not yet.</p></body></html>');
    server = await startInboxServer({
      upstream,
      env: { CHATDROP_HANDOFF_WEBHOOK: hook.url, CHATDROP_KNOWLEDGE: `${folder}=https://help.example.com/`, CHATDROP_RATE_LIMIT: '1000' },
      handoffDispatcher: { baseDelayMs: 20 * 60_000, random: () => 0 },
    });
    await handOff('I am locked out of my account', 'Please call <b>me</b> back');
    await hook.waitForRequests(1);
    await server.handoff!.dispatcher.whenIdle();
    await handOff('My invoice shows the wrong company', 'VAT number changed');
    await hook.waitForAccepted(1);
    await server.handoff!.dispatcher.whenIdle();
    upstream.script({ kind: 'deltas', deltas: ['We ship worldwide.'] });
    await readEvents(await postChat(server.url, { message: 'Do you ship to Norway?' }));

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Trusted Type|Refused to/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${server.url}/inbox`);
    await page.getByLabel('User').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Conversations' }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    await server?.close();
    await hook?.close();
    await upstream?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('marks each handed-off conversation with its delivery state, in words', async () => {
    await expect.poll(() => listed(page)).toEqual(['Do you ship to Norway?', 'My invoice shows the wrong company', 'I am locked out of my account']);
    expect(await row(page, 'locked out').getByRole('listitem').allTextContents()).toContain('Hand-off being delivered');
    expect(await row(page, 'invoice').getByRole('listitem').allTextContents()).toContain('Hand-off delivered');
    expect(await row(page, 'Norway').textContent()).not.toContain('Hand-off');
    expect(await axeViolations(page)).toEqual([]);
  });

  it('filters the conversations handed off to a person', async () => {
    await page.getByLabel('Handed off to a person').check();
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => listed(page)).toEqual(['My invoice shows the wrong company', 'I am locked out of my account']);
    expect(new URL(page.url()).searchParams.get('handoff')).toBe('1');
  });

  it('shows a hand-off with its delivery: state, attempts, the problem in plain words, the next attempt', async () => {
    await page.getByRole('link', { name: 'I am locked out of my account' }).click();
    const section = page.getByRole('region', { name: 'Hand-off to a person' });
    await section.waitFor();
    const text = (await section.textContent()) ?? '';
    expect(text).toContain('visitor@example.com');
    // The visitor's note is shown as the characters typed.
    expect(await section.locator('.visitor-text').textContent()).toBe('Please call <b>me</b> back');
    expect(await section.locator('b').count()).toBe(0);
    expect(text).toContain('Webhook');
    expect(text).toContain('Not delivered yet: Chatdrop keeps trying. 1 attempt.');
    expect(text).toContain("Last problem: The webhook's server had a problem (HTTP 500). (HTTP 500: receiver is down)");
    expect(text).toMatch(/Next attempt in (10|9) minutes, /);
    expect(await section.locator('time').count()).toBe(2);
    expect(await page.getByRole('list', { name: 'Marks' }).textContent()).toContain('Hand-off being delivered');
    expect(await axeViolations(page)).toEqual([]);

    await page.goBack();
    await page.getByRole('link', { name: 'My invoice shows the wrong company' }).click();
    const delivered = page.getByRole('region', { name: 'Hand-off to a person' });
    await delivered.waitFor();
    expect(await delivered.textContent()).toContain('Delivered. 1 attempt.');
    expect(await delivered.textContent()).not.toContain('problem');
  });

  it('shows the same on a phone, nothing wider than the screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    try {
      await phone.addCookies(await context.cookies());
      const tab = await phone.newPage();
      await tab.goto(page.url().replace(/c=[^&]+/, '').replace(/[?&]$/, ''));
      await expect.poll(() => listed(tab)).toHaveLength(2);
      await tab.getByRole('link', { name: 'I am locked out of my account' }).click();
      await tab.getByRole('region', { name: 'Hand-off to a person' }).waitFor();
      expect(await tab.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
      expect(await axeViolations(tab)).toEqual([]);
    } finally {
      await phone.close();
    }
  });

  it('shows the knowledge status beside the daily figures', async () => {
    await page.getByRole('link', { name: 'Daily figures' }).click();
    const knowledge = page.getByRole('region', { name: 'Knowledge' });
    await knowledge.waitFor();
    const text = (await knowledge.textContent()) ?? '';
    expect(text).toMatch(/Pages1Passages\d+Last crawl/);
    expect(text).toContain('Next crawl');
    expect(text).toContain('Marked not to be indexed: 1');
    expect(await axeViolations(page)).toEqual([]);
  });

  it('broke no rule of its Content Security Policy, and threw nothing', () => {
    expect(problems).toEqual([]);
  });
});
