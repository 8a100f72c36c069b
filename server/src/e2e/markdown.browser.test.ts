import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, type E2e } from './e2e-harness.js';

/** What a hostile or confused model might answer. */
const HOSTILE_REPLY = [
  'Click [here](javascript:window.pwned=1) or [there](JaVaScRiPt:window.pwned=2) ',
  'or [tab](java\tscript:window.pwned=3) or [entity](&#106;avascript:window.pwned=4) ',
  'or [data](data:text/html,<script>window.pwned=5</script>).\n\n',
  '<script>window.pwned=6</script>\n\n<img src=x onerror="window.pwned=7">\n\n',
  '<a href="javascript:window.pwned=8">raw</a> <iframe src="javascript:window.pwned=9"></iframe>\n\n',
  '![img](x" onerror="window.pwned=10) and a [good link](https://example.com/ok).\n',
];

/** A reply as models write them: numbered steps with blank lines between, code and a table inside. */
const STEPS_REPLY = [
  'To set it up:\n\n',
  '1. Install it:\n\n   ```bash\n   npm install chatdrop\n   ```\n\n',
  '2. Add the tag &mdash; before `</body>`:\n\n   ```html\n   <script src="https://chat.example.com/widget.js"></script>\n   ```\n\n',
  '3. Pick a plan:\n\n   | Plan | Price |\n   |---|--:|\n   | Pro | $9 &amp; up |\n\n',
  '4. Reload, see [the guide][g].\n  - check the console\n\n[g]: https://example.com/guide\n',
].join('');

describe('model output on the host page, in Chromium', () => {
  let e2e: E2e;
  beforeAll(async () => {
    e2e = await startE2e();
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it('streams a reply written as models write them into one numbered list with its code, table and links inside', async () => {
    const { page } = await e2e.open();
    // Cut every 7 characters: deltas end mid-word, mid-fence and mid-entity, as a stream does.
    e2e.upstream.script({ kind: 'deltas', deltas: STEPS_REPLY.match(/[^]{1,7}/g)! });
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('How do I set it up?');
    await page.keyboard.press('Enter');
    const log = page.getByRole('log');
    await expect.poll(() => log.locator('a').count(), { timeout: 10_000 }).toBe(1);
    expect(await log.locator('ol').count()).toBe(1);
    expect(await log.locator('ol > li').count()).toBe(4);
    expect(await log.locator('ol > li pre code').allTextContents()).toEqual(['npm install chatdrop', '<script src="https://chat.example.com/widget.js"></script>']);
    expect(await log.locator('ol > li td').allTextContents()).toEqual(['Pro', '$9 & up']);
    expect(await log.locator('ol > li ul > li').allTextContents()).toEqual(['check the console']);
    expect(await log.locator('a').getAttribute('href')).toBe('https://example.com/guide');
    expect(await log.locator('script').count()).toBe(0);
  });

  it('can never run script or link to a script URL', async () => {
    const { page } = await e2e.open();
    e2e.upstream.script({ kind: 'deltas', deltas: HOSTILE_REPLY });
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('Say something nasty');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('good link');
    // Click every link the reply produced (in this tab: a script URL would run here).
    const hrefs = await page.getByRole('log').locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(hrefs).toEqual(['https://example.com/ok']);
    const active = await page.getByRole('log').evaluate((log) =>
      [...log.querySelectorAll('*')].filter((element) =>
        ['SCRIPT', 'IFRAME', 'IMG', 'OBJECT', 'EMBED'].includes(element.tagName) ||
        [...element.attributes].some((attribute) => attribute.name.startsWith('on')),
      ).length,
    );
    expect(active).toBe(0);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    const link = page.getByRole('log').getByRole('link', { name: 'good link' });
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await link.getAttribute('target')).toBe('_blank');
  });
});
