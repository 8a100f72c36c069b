import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, type E2e } from './e2e-harness.js';

/** Rules a careless or hostile site might ship; none may reach inside the widget. */
const HOSTILE_CSS = `
* { all: unset !important; box-sizing: content-box !important; }
*, *::before, *::after { margin: 37px !important; padding: 0 !important; font-size: 31px !important; }
div { display: inline !important; position: static !important; width: 3px !important; height: 3px !important; }
button { display: none !important; visibility: hidden !important; opacity: 0 !important; }
chatdrop-widget { display: none !important; position: absolute !important; left: -9999px !important; }
body > * { transform: scale(0.1) !important; filter: blur(10px) !important; z-index: -1 !important; }
html { font-size: 5px !important; line-height: 0 !important; }
`;

describe('the widget as a guest on someone else\'s page, in Chromium', () => {
  let e2e: E2e;
  beforeAll(async () => {
    e2e = await startE2e();
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it('works under a strict Content Security Policy with zero violations', async () => {
    const api = new URL(e2e.server.url).origin;
    const csp = `default-src 'none'; script-src ${api}; connect-src ${api}; style-src 'self'`;
    const { page } = await e2e.open({ csp, css: 'body { font-family: serif; }' });
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.evaluate(() => {
      (window as unknown as { cspViolations: string[] }).cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) => {
        (window as unknown as { cspViolations: string[] }).cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    e2e.upstream.script({ kind: 'deltas', deltas: ['Strict ', 'pages ', '*work*', ' too.'] });
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('Does it work here?');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('pages work too.');
    // The panel is styled (a constructed stylesheet applied), not an unstyled heap of elements.
    const panel = await page.getByRole('dialog').boundingBox();
    expect(panel?.width).toBeGreaterThan(250);
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    expect(violations).toEqual([]);
  });

  it('keeps its layout on a page with hostile !important CSS', async () => {
    const { page } = await e2e.open({ css: HOSTILE_CSS });
    const launcher = page.getByRole('button', { name: 'Open chat' });
    const box = await launcher.boundingBox();
    expect(box).not.toBeNull();
    // Bottom right corner, a finger-sized target.
    expect(box!.width).toBeGreaterThanOrEqual(44);
    expect(box!.x + box!.width).toBeGreaterThan(1280 - 80);
    expect(box!.y + box!.height).toBeGreaterThan(800 - 80);
    await launcher.click();
    const dialog = await page.getByRole('dialog').boundingBox();
    expect(dialog!.width).toBeGreaterThan(300);
    expect(dialog!.height).toBeGreaterThan(300);
    expect(dialog!.x + dialog!.width).toBeLessThanOrEqual(1280);
    const input = page.getByRole('textbox', { name: 'Message' });
    expect(await input.isVisible()).toBe(true);
    const fontSize = await input.evaluate((element) => getComputedStyle(element).fontSize);
    expect(fontSize).not.toBe('31px');
    expect(await page.getByRole('button', { name: 'Send' }).isVisible()).toBe(true);
  });

  it('adds one element and one global, and destroy() removes both', async () => {
    const { page } = await e2e.open();
    await page.getByRole('button', { name: 'Open chat' }).waitFor();
    const added = await page.evaluate(() => ({
      elements: [...document.body.children].filter((element) => element.tagName !== 'SCRIPT' && element.tagName !== 'MAIN').map((element) => element.tagName.toLowerCase()),
      shadowMode: document.querySelector('chatdrop-widget')?.shadowRoot?.mode,
      api: typeof (window as unknown as { Chatdrop?: unknown }).Chatdrop,
    }));
    expect(added).toEqual({ elements: ['chatdrop-widget'], shadowMode: 'open', api: 'object' });
    // A global the page did not have before is the widget's; there must be exactly one.
    const globals = await page.evaluate(() => {
      const frame = document.createElement('iframe');
      document.head.append(frame);
      const clean = new Set(Object.getOwnPropertyNames(frame.contentWindow!));
      frame.remove();
      return Object.getOwnPropertyNames(window).filter((name) => !clean.has(name));
    });
    expect(globals).toEqual(['Chatdrop']);

    await page.evaluate(() => (window as unknown as { Chatdrop: { destroy(): void } }).Chatdrop.destroy());
    const after = await page.evaluate(() => ({
      element: document.querySelector('chatdrop-widget') === null,
      api: 'Chatdrop' in window,
    }));
    expect(after).toEqual({ element: true, api: false });
  });

  it('replays Chatdrop calls queued before the script loaded', async () => {
    // The README's stub, then calls made before widget.js has arrived.
    const stub = `<script>
      window.Chatdrop = window.Chatdrop || { q: [] };
      ['open', 'close', 'toggle', 'send', 'reset', 'destroy', 'on'].forEach(function (m) {
        window.Chatdrop[m] = window.Chatdrop[m] || function () {
          window.Chatdrop.q.push([m, [].slice.call(arguments)]);
        };
      });
      window.opened = 0;
      Chatdrop.on('open', function () { window.opened++; });
      Chatdrop.open();
    </script>`;
    const { page } = await e2e.open({ beforeScript: stub });
    await expect.poll(() => page.getByRole('dialog').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { opened: number }).opened)).toBe(1);
  });
});
