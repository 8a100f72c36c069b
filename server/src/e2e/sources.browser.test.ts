import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articlePage, startStaticSite, type StaticSite } from '../test/static-site.js';
import { startE2e, type E2e } from './e2e-harness.js';

describe('sources under a grounded reply, in Chromium', () => {
  let e2e: E2e;
  let site: StaticSite;
  beforeAll(async () => {
    site = await startStaticSite({
      '/help/reset': {
        body: articlePage('Reset your password', { 'On the web': 'Choose Forgot password on the sign-in page and open the link we email you; it works for thirty minutes.' }),
      },
    });
    e2e = await startE2e({ CHATDROP_KNOWLEDGE: `${site.origin}/help/reset` });
  });
  afterAll(async () => {
    await e2e?.close();
    await site?.close();
  });

  it('lists the page the answer came from as a link under the reply, and again after a reload', async () => {
    await expect.poll(async () => (await fetch(`${e2e.server.url}/readyz`)).status, { timeout: 20_000 }).toBe(200);
    const { page } = await e2e.open();
    e2e.upstream.script({ kind: 'deltas', deltas: ['Choose ', '**Forgot password**', ' on the sign-in page.'] });
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('How do I reset my password?');
    await page.getByRole('button', { name: 'Send' }).click();

    const sources = page.getByRole('list', { name: 'Sources' });
    await expect.poll(() => sources.getByRole('link').allTextContents(), { timeout: 10_000 }).toEqual(['Reset your password']);
    expect(await sources.getByRole('link').getAttribute('href')).toBe(`${site.origin}/help/reset`);
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('on the sign-in page.');
    const sent = e2e.upstream.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    expect(sent.messages[0]?.content).toContain('open the link we email you');

    await page.reload();
    await page.getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Sources' }).getByRole('link').allTextContents(), { timeout: 10_000 }).toEqual(['Reset your password']);
  });
});
