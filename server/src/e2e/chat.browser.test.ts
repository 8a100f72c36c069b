import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, type E2e } from './e2e-harness.js';

const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `word${i} `);

describe('the widget on a site owner\'s page, in Chromium', () => {
  let e2e: E2e;
  beforeAll(async () => {
    e2e = await startE2e();
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it('streams a reply into the bubble on a page of another origin, and Stop aborts the upstream request', async () => {
    const { page } = await e2e.open({ attributes: { 'data-title': 'Acme Help' } });
    e2e.upstream.script({ kind: 'deltas', deltas: words(400), delayMs: 40 });

    await page.getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => page.getByRole('dialog', { name: 'Acme Help' }).isVisible()).toBe(true);
    const input = page.getByRole('textbox', { name: 'Message' });
    await input.fill('How do I reset my password?');
    await input.press('Enter');

    const log = page.getByRole('log');
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain('word3');
    const early = (await log.textContent())?.length ?? 0;
    await expect.poll(async () => (await log.textContent())?.length ?? 0, { timeout: 10_000 }).toBeGreaterThan(early + 20);

    const requestIndex = e2e.upstream.requests.length - 1;
    await page.getByRole('button', { name: 'Stop' }).click();
    const aborted = await e2e.upstream.waitForAbort(requestIndex, 5_000);
    expect(aborted.aborted).toBe(true);
    // The partial reply stays on screen, and the composer is usable again.
    expect(await log.textContent()).toContain('word3');
    await expect.poll(() => page.getByRole('button', { name: 'Send' }).isVisible()).toBe(true);
    // The browser never sends history, roles or a system prompt: the server does.
    const sent = e2e.upstream.requests[requestIndex]?.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'You are the test help desk.' });
    expect(sent.messages.at(-1)).toEqual({ role: 'user', content: 'How do I reset my password?' });
  });

  it('shows the same conversation after a reload', async () => {
    const { page } = await e2e.open();
    e2e.upstream.script({ kind: 'deltas', deltas: ['Go to ', '**Settings**', ' and choose ', 'Reset.'] });
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('Where is the reset button?');
    await page.getByRole('button', { name: 'Send' }).click();
    const log = page.getByRole('log');
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain('and choose Reset.');

    await page.reload();
    await page.getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('Where is the reset button?');
    expect(await page.getByRole('log').textContent()).toContain('and choose Reset.');
    // Markdown from the model is rendered as elements, not as literal asterisks.
    expect(await page.getByRole('log').locator('strong').first().textContent()).toBe('Settings');
  });

  it('shows a stopped reply as cut off after a reload', async () => {
    const { page } = await e2e.open();
    e2e.upstream.script({ kind: 'deltas', deltas: words(400), delayMs: 40 });
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('Tell me everything');
    await page.keyboard.press('Enter');
    const log = page.getByRole('log');
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain('word5');
    await page.getByRole('button', { name: 'Stop' }).click();
    await e2e.upstream.waitForAbort(e2e.upstream.requests.length - 1, 5_000);

    await page.reload();
    await page.getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('word5');
    // The reload may come before the server has stored the stop: the widget then follows the
    // reply's stream until its end says it was stopped, so wait for the notice itself.
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('This reply was cut off.');
    await expect.poll(() => page.getByRole('button', { name: 'Retry' }).isVisible()).toBe(true);

    // Retry asks again in place: after another reload the question shows once, with the new answer.
    e2e.upstream.script({ kind: 'deltas', deltas: ['Here is ', 'everything.'] });
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('Here is everything.');
    await page.reload();
    await page.getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('Here is everything.');
    const text = (await page.getByRole('log').textContent()) ?? '';
    expect(text.split('Tell me everything').length - 1).toBe(1);
    expect(text).not.toContain('word5');
  });
});
