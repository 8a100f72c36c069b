import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startE2e, type E2e } from './e2e-harness.js';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string;
  nodes: Array<{ target: unknown; failureSummary: string }>;
}

/** axe-core against the widget's shadow tree, WCAG 2.x A and AA rules. */
async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(
      { include: [['chatdrop-widget']] },
      { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } },
    );
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
}

describe('the widget for everyone, in Chromium', () => {
  let e2e: E2e;
  beforeAll(async () => {
    e2e = await startE2e();
  });
  afterAll(async () => {
    await e2e?.close();
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`has no axe-core violations with the panel open and a reply shown, ${theme} theme`, async () => {
      const { page } = await e2e.open({ attributes: { 'data-theme': theme }, colorScheme: theme });
      e2e.upstream.script({ kind: 'deltas', deltas: ['Here is a [link](https://example.com), `code` and:\n\n', '- a list\n- of things\n\n', '```sh\nnpm i\n```\n'] });
      await page.getByRole('button', { name: 'Open chat' }).click();
      await page.getByRole('textbox', { name: 'Message' }).fill('Show me everything');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('of things');
      await page.getByRole('button', { name: 'Helpful' }).first().waitFor();
      expect(await axeViolations(page)).toEqual([]);
    });
  }

  it('is usable by keyboard alone: open, type, send, Escape returns focus to the launcher', async () => {
    const { page } = await e2e.open({ body: '<main><a href="#top">First link on the page</a></main>' });
    e2e.upstream.script({ kind: 'deltas', deltas: ['Keyboard ', 'works.'] });
    await page.getByRole('button', { name: 'Open chat' }).waitFor();
    // Tab from the page's own link reaches the launcher.
    await page.getByRole('link', { name: 'First link on the page' }).focus();
    await page.keyboard.press('Tab');
    const focusedName = () =>
      page.evaluate(() => {
        let element: Element | null = document.activeElement;
        while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
        return element?.getAttribute('aria-label') ?? element?.textContent ?? '';
      });
    expect(await focusedName()).toBe('Open chat');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('dialog').isVisible()).toBe(true);
    // The dialog takes focus: typing goes into the message box.
    await page.keyboard.type('Can I use only the keyboard?');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('Keyboard works.');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').isVisible()).toBe(false);
    expect(await focusedName()).toBe('Open chat');
  });

  it('speaks Arabic right to left when the page asks for it', async () => {
    const { page } = await e2e.open({ attributes: { 'data-lang': 'ar' } });
    const launcher = page.locator('chatdrop-widget').getByRole('button').first();
    await launcher.waitFor();
    const name = await launcher.getAttribute('aria-label');
    expect(name).not.toBe('Open chat');
    await launcher.click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.evaluate((element) => getComputedStyle(element).direction)).toBe('rtl');
  });

  it('fills a phone screen and keeps the page behind from scrolling', async () => {
    const { page } = await e2e.open({ viewport: { width: 375, height: 667 }, body: `<main>${'<p>Long page.</p>'.repeat(200)}</main>` });
    await page.getByRole('button', { name: 'Open chat' }).click();
    const dialog = await page.getByRole('dialog').boundingBox();
    expect(dialog).toMatchObject({ x: 0, y: 0, width: 375 });
    expect(dialog!.height).toBeGreaterThanOrEqual(660);
    const before = await page.evaluate(() => window.scrollY);
    await page.mouse.wheel(0, 800);
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => window.scrollY)).toBe(before);
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
  });
});
