import { readFileSync } from 'node:fs';
import type { BrowserContext, Page, Request, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../test/test-server.js';
import { startE2e, WIDGET_DIR, type E2e } from './e2e-harness.js';

/**
 * How the widget reaches a page: a small loader, and the panel only when the visitor shows intent.
 * Seen from a host page on another origin, through the real server and Chromium's network stack.
 */
describe('the loader and the panel it loads on intent, in Chromium', () => {
  let e2e: E2e;
  let serverOrigin: string;
  const contexts: BrowserContext[] = [];
  const manifest = JSON.parse(readFileSync(`${WIDGET_DIR}manifest.json`, 'utf8')) as { files: string[] };
  const panelFile = manifest.files.find((f) => f.startsWith('widget/panel-'))!;

  beforeAll(async () => {
    e2e = await startE2e();
    serverOrigin = new URL(e2e.server.url).origin;
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await e2e?.close();
  });

  /**
   * A fresh page on the host site, watched from before it loads: every request it makes to the
   * Chatdrop server (by path) and each response.
   */
  async function open(options: { hasTouch?: boolean; attributes?: Record<string, string>; csp?: string } = {}) {
    e2e.host.set({ widgetUrl: `${e2e.server.url}/widget.js`, body: '<main><a href="#top">First link on the page</a></main>', attributes: options.attributes, csp: options.csp });
    const context = await e2e.browser.newContext(options.hasTouch ? { hasTouch: true, isMobile: true, viewport: { width: 375, height: 667 } } : {});
    contexts.push(context);
    const page = await context.newPage();
    const paths: string[] = [];
    const responses: Response[] = [];
    page.on('request', (request: Request) => {
      const url = new URL(request.url());
      if (url.origin === serverOrigin) paths.push(url.pathname);
    });
    page.on('response', (response) => void responses.push(response));
    await page.goto(e2e.host.url);
    return { page, paths, responses };
  }

  /** Holds the panel chunk's response until the function it returns is called. */
  async function holdPanel(page: Page): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(`**/${panelFile}`, async (route) => {
      await held;
      await route.continue();
    });
    return release;
  }

  /** The page has loaded and gone idle twice over: what a visitor who never touches the chat sees. */
  async function idle(page: Page): Promise<void> {
    await page.locator('chatdrop-widget').getByRole('button').first().waitFor();
    await page.waitForLoadState('load');
    await page.evaluate(() => new Promise<void>((resolve) => requestIdleCallback(() => requestIdleCallback(() => resolve()))));
  }

  it('loads only widget.js, brotli-compressed and within budget, until the visitor shows intent', async () => {
    const { page, paths, responses } = await open();
    await idle(page);
    expect(paths).toEqual(['/widget.js']);
    const loader = responses.find((r) => r.url().endsWith('/widget.js'))!;
    expect(loader.headers()['content-encoding']).toBe('br');
    const sizes = await loader.request().sizes();
    expect(sizes.responseBodySize).toBeLessThanOrEqual(3 * 1024);
  });

  it('hover loads the panel (and the config) before the click, so the click needs no other request', async () => {
    const { page, paths } = await open();
    await idle(page);
    const launcher = page.getByRole('button', { name: 'Open chat' });
    const chunk = page.waitForResponse((r) => r.url().endsWith(panelFile));
    await launcher.hover();
    const response = await chunk;
    expect(response.headers()['content-encoding']).toBe('br');
    expect(response.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    await expect.poll(() => paths.includes('/api/config')).toBe(true);
    expect(await page.getByRole('dialog').count()).toBe(0); // loaded, not opened
    const before = paths.length;
    await launcher.click();
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    expect(paths.slice(before).filter((p) => p.startsWith('/widget'))).toEqual([]);
  });

  it('a click pressed before the panel arrives and released after it has mounted opens it', async () => {
    const { page, paths } = await open();
    await idle(page);
    // Hold the chunk, so the panel mounts between the press and the release, as it does for a
    // visitor whose hover started the load a moment before the click.
    const release = await holdPanel(page);
    const box = (await page.getByRole('button', { name: 'Open chat' }).boundingBox())!;
    const requested = page.waitForRequest((r) => r.url().endsWith(panelFile));
    // The centre of the launcher, where its icon is.
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await requested;
    await page.mouse.down();
    release();
    // The panel asks for /api/config as it mounts, and redraws the launcher it shares.
    await expect.poll(() => paths.includes('/api/config'), { timeout: 20_000 }).toBe(true);
    await page.mouse.up();
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    expect(await page.getByRole('button', { name: 'Close chat' }).count()).toBe(1);
  });

  it('keyboard focus on the launcher loads the panel', async () => {
    const { page } = await open();
    await idle(page);
    const chunk = page.waitForRequest((r) => r.url().endsWith(panelFile));
    await page.getByRole('link', { name: 'First link on the page' }).focus();
    await page.keyboard.press('Tab');
    await chunk;
    expect(await page.getByRole('dialog').count()).toBe(0);
  });

  it('a touch loads the panel and opens it', async () => {
    const { page } = await open({ hasTouch: true });
    await idle(page);
    const chunk = page.waitForRequest((r) => r.url().endsWith(panelFile));
    await page.getByRole('button', { name: 'Open chat' }).tap();
    await chunk;
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
  });

  it('Chatdrop.open() from the page loads and opens the panel; a second page view takes the chunk from the cache', async () => {
    const { page } = await open();
    await idle(page);
    const hits = () => e2e.server.logs.filter((line) => line.includes(`"route":"/${panelFile}"`)).length;
    const before = hits();
    await page.evaluate(() => (window as unknown as { Chatdrop: { open(): void } }).Chatdrop.open());
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    expect(hits()).toBe(before + 1);
    await page.reload();
    await idle(page);
    await page.evaluate(() => (window as unknown as { Chatdrop: { open(): void } }).Chatdrop.open());
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    // Immutable for a year: not even revalidated.
    expect(hits()).toBe(before + 1);
  });

  it('destroy() while the panel is on its way leaves nothing behind when it arrives', async () => {
    const { page } = await open();
    await idle(page);
    // Hold the chunk until destroy() has run.
    const release = await holdPanel(page);
    // A panel that mounted anyway would at once ask for /api/config: record the page's fetches.
    await page.evaluate(() => {
      const w = window as unknown as { fetch: typeof fetch; calls: string[] };
      const original = w.fetch;
      w.calls = [];
      w.fetch = (input, init) => (w.calls.push(String(input)), original(input, init));
    });
    const requested = page.waitForRequest((r) => r.url().endsWith(panelFile));
    await page.evaluate(() => (window as unknown as { Chatdrop: { open(): void } }).Chatdrop.open());
    await requested;
    await page.evaluate(() => (window as unknown as { Chatdrop: { destroy(): void } }).Chatdrop.destroy());
    release();
    // The same module, imported again, resolves once it has arrived and run; the loader's own
    // import settled in the same turn.
    await page.evaluate(`import(${JSON.stringify(`${e2e.server.url}/${panelFile}`)}).then(() => true)`);
    expect(await page.evaluate(() => ({ element: document.querySelector('chatdrop-widget'), api: 'Chatdrop' in window, calls: (window as unknown as { calls: string[] }).calls }))).toEqual({
      element: null,
      api: false,
      calls: [],
    });
  });

  it('loads the panel from the script\'s own origin and talks to the API that data-api names', async () => {
    const api = await startTestServer({ upstream: e2e.upstream, env: { ALLOWED_ORIGINS: new URL(e2e.host.url).origin } });
    try {
      const { page, responses } = await open({ attributes: { 'data-api': api.url } });
      await idle(page);
      e2e.upstream.script({ kind: 'deltas', deltas: ['From ', 'the other API.'] });
      await page.getByRole('button', { name: 'Open chat' }).click();
      await page.getByRole('textbox', { name: 'Message' }).fill('Which server?');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('From the other API.');
      const origins = (suffix: string) => responses.filter((r) => new URL(r.url()).pathname.endsWith(suffix)).map((r) => new URL(r.url()).origin);
      expect(origins(panelFile)).toEqual([serverOrigin]);
      expect(origins('/api/config')).toEqual([new URL(api.url).origin]);
      expect(origins('/api/chat')).toEqual([new URL(api.url).origin]);
    } finally {
      await api.close();
    }
  });

  it('imports the panel and a language\'s strings under a CSP that allows only our origin, with no violation', async () => {
    const csp = `default-src 'none'; script-src ${serverOrigin}; connect-src ${serverOrigin}; style-src 'self'`;
    const { page, paths } = await open({ csp, attributes: { 'data-lang': 'ar' } });
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await idle(page);
    const launcher = page.locator('chatdrop-widget').getByRole('button').first();
    expect(await launcher.getAttribute('aria-label')).toBe('فتح المحادثة');
    await launcher.click();
    await expect.poll(() => page.getByRole('dialog').isVisible()).toBe(true);
    expect(await page.getByRole('dialog').getAttribute('dir')).toBe('rtl');
    const arabic = manifest.files.find((f) => f.startsWith('widget/strings-ar-'))!;
    expect(paths).toEqual(expect.arrayContaining([`/${panelFile}`, `/${arabic}`]));
    expect(paths.filter((p) => p.startsWith('/widget/strings-') && !p.endsWith(arabic))).toEqual([]);
    expect(violations).toEqual([]);
  });

  it('tries the panel again on the next intent when it could not be fetched (a dropped connection)', async () => {
    const { page } = await open();
    await idle(page);
    let attempts = 0;
    await page.route(`**/${panelFile}*`, async (route) => {
      if (attempts++ === 0) await route.abort('connectionreset');
      else await route.continue();
    });
    const launcher = page.getByRole('button', { name: 'Open chat' });
    await launcher.hover();
    await expect.poll(() => attempts).toBe(1);
    await page.mouse.move(0, 0);
    await launcher.click();
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    expect(attempts).toBe(2);
  });
});
