import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchDriver, requireEngine, type BrowserDriver, type EngineName, type Viewport } from './browser-driver.js';
import { startSite, type Site } from './e2e-harness.js';
import type { HostPageOptions } from './host-page.js';
import { within } from './stop-process.js';
import { Tab, type Target } from './tab.js';

const DESKTOP: Viewport = { width: 1280, height: 800 };
const PHONE: Viewport = { width: 375, height: 667 };
/** The widget's phone layout applies below this width (`widget/src/phone-layout.ts`). */
const PHONE_BREAKPOINT = 480;

const LAUNCHER: Target = { role: 'button', name: 'Open chat' };
const MESSAGE: Target = { role: 'textbox', name: 'Message' };
const LOG: Target = { role: 'log' };
const STOP: Target = { role: 'button', name: 'Stop' };
const SEND: Target = { role: 'button', name: 'Send' };

const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `word${i} `);

/**
 * Lines about the host page's own favicon, which browsers fetch by themselves: the test page has
 * none (404), and Firefox holds that fetch to the page's CSP (`img-src`). Not the widget's doing.
 */
const notFavicon = (line: string) => !line.includes('/favicon.ico');

/** The page's console errors and uncaught exceptions. */
async function pageErrors(t: Tab): Promise<string[]> {
  return (await t.errors()).filter(notFavicon);
}

/** Where the page keeps what it records for a test: under a symbol, so no global name is added. */
const RECORD = 'chatdrop.test.record';

/**
 * The widget's core path, one test body for every engine: launcher, open, send, a streamed markdown
 * reply, Stop, reload, phone layout, a strict-CSP host page on another origin, keyboard. Each engine
 * has a three-line test file calling this, so a run shows each engine's result and time on its own.
 */
export function describeCorePath(engine: EngineName): void {
  // While the file loads, so a missing browser fails the file with the command that installs it.
  requireEngine(engine);

  describe(`the widget's core path in ${engine}`, () => {
    let site: Site | undefined;
    let driver: BrowserDriver | undefined;
    let tab: Tab | undefined;

    beforeAll(async () => {
      site = await startSite();
      driver = await launchDriver(engine);
    }, 120_000);

    afterEach(async () => {
      await within(15_000, tab?.close() ?? Promise.resolve());
      tab = undefined;
    });

    afterAll(async () => {
      await driver?.close();
      await site?.close();
    }, 60_000);

    /** A fresh page (its own storage) on the host site, which pastes the script tag. */
    async function open(page: HostPageOptions = {}, viewport = DESKTOP): Promise<Tab> {
      site!.host.set({ ...page, widgetUrl: site!.widgetUrl });
      tab = new Tab(engine, await driver!.open(site!.host.url, viewport));
      return tab;
    }

    /** Opens the panel with the launcher, types `question` into the message box and sends it. */
    async function ask(t: Tab, question: string): Promise<void> {
      await t.click(LAUNCHER);
      await t.waitForVisible({ role: 'dialog' });
      await t.click(MESSAGE);
      await t.type(question);
      await t.press('Enter');
    }

    /** Waits until the reply has ended: `text` on screen and Stop gone. */
    async function replyEnded(t: Tab, text: string): Promise<string> {
      const shown = await t.waitForText(LOG, text);
      await t.waitForHidden(STOP);
      return shown;
    }

    it('shows a launcher named "Open chat", opens a titled dialog and streams a markdown reply as elements', async () => {
      const t = await open({ attributes: { 'data-title': 'Acme Help' } });
      const launcher = await t.waitForVisible(LAUNCHER);
      // A finger-sized button inside the window, in the bottom right corner, that nothing covers.
      expect(launcher.onTop).toBe(true);
      expect(launcher.box!.width).toBeGreaterThanOrEqual(44);
      expect(launcher.box!.x + launcher.box!.width).toBeLessThanOrEqual(DESKTOP.width);
      expect(launcher.box!.x).toBeGreaterThan(DESKTOP.width / 2);
      expect(launcher.box!.y).toBeGreaterThan(DESKTOP.height / 2);

      site!.upstream.script({
        kind: 'deltas',
        deltas: ['Here is how:\n\n', '- **Open** Settings\n', '- Choose *Reset*\n', '\nThat is ', 'all.'],
        delayMs: 150,
      });
      const index = site!.upstream.requests.length;
      await t.click(LAUNCHER);
      await t.waitForVisible({ role: 'dialog', name: 'Acme Help' });
      // Every state the log goes through, recorded in the page as it happens (not by polling).
      await t.click(MESSAGE);
      await t.evaluateOn(LOG, (log, key) => {
        const states: string[] = ((window as unknown as Record<symbol, string[]>)[Symbol.for(key)] = []);
        new MutationObserver(() => states.push(log!.textContent ?? '')).observe(log!, { subtree: true, childList: true, characterData: true });
      }, RECORD);
      await t.type('How do I reset my password?');
      await t.press('Enter');

      const text = await replyEnded(t, 'That is all.');
      expect(text).toContain('How do I reset my password?');
      expect(text).not.toContain('**');
      // Streamed: the list was on screen before the reply's last words arrived.
      const states = await t.evaluate((key) => (window as unknown as Record<symbol, string[]>)[Symbol.for(key)] ?? [], RECORD);
      expect(states.some((state) => state.includes('Open Settings') && !state.includes('That is all.'))).toBe(true);
      // Markdown rendered as elements: a list of two items, bold and emphasis.
      const rendered = await t.evaluateOn(LOG, (log) => ({
        items: [...log!.querySelectorAll('li')].map((li) => li.textContent),
        strong: [...log!.querySelectorAll('strong')].map((element) => element.textContent),
        em: [...log!.querySelectorAll('em')].map((element) => element.textContent),
      }));
      expect(rendered).toEqual({ items: ['Open Settings', 'Choose Reset'], strong: ['Open'], em: ['Reset'] });
      const sent = site!.upstream.requests[index]?.body as { messages: Array<{ role: string; content: string }> };
      expect(sent.messages.at(-1)).toEqual({ role: 'user', content: 'How do I reset my password?' });

      // A reload shows the same conversation, markdown and all.
      await t.reload();
      await t.click(LAUNCHER);
      const restored = await t.waitForText(LOG, 'That is all.');
      expect(restored).toContain('How do I reset my password?');
      expect(await t.evaluateOn(LOG, (log) => log!.querySelectorAll('li strong').length)).toBe(1);
      expect(await pageErrors(t)).toEqual([]);
    });

    it('Stop aborts the upstream request and keeps the partial reply', async () => {
      const t = await open();
      site!.upstream.script({ kind: 'deltas', deltas: words(400), delayMs: 40 });
      const index = site!.upstream.requests.length;
      await ask(t, 'Tell me everything');
      await t.waitForText(LOG, 'word3 ');
      await t.click(STOP);
      const aborted = await site!.upstream.waitForAbort(index, 20_000);
      expect(aborted.aborted).toBe(true);
      await t.waitForHidden(STOP);
      await t.waitForVisible(SEND);
      const text = await t.text(LOG);
      expect(text).toContain('word3');
      expect(text).not.toContain('word399');
    });

    it('is usable by keyboard alone: Tab reaches the launcher, Enter opens, Enter sends, Escape closes and returns focus', async () => {
      const t = await open({ body: '<main><a href="#top">First link on the page</a></main>' });
      site!.upstream.script({ kind: 'deltas', deltas: ['Keyboard ', 'works.'] });
      await t.waitForVisible(LAUNCHER);
      await t.evaluateOn({ role: 'link', name: 'First link on the page' }, (link) => (link as HTMLElement).focus());
      await t.press('Tab');
      await t.waitFor('focus on the launcher', () => t.focusedName(), (name) => name === 'Open chat');
      await t.press('Enter');
      await t.waitForVisible({ role: 'dialog' });
      // The dialog takes focus: typing goes into the message box.
      await t.waitFor('focus in the message box', () => t.focusedName(), (name) => name === 'Message');
      await t.type('Can I use only the keyboard?');
      await t.press('Enter');
      await replyEnded(t, 'Keyboard works.');
      expect(await t.text(LOG)).toContain('Can I use only the keyboard?');
      await t.press('Escape');
      await t.waitForHidden({ role: 'dialog' });
      await t.waitFor('focus back on the launcher', () => t.focusedName(), (name) => name === 'Open chat');
    });

    it('fills a phone screen with the panel', async () => {
      const t = await open({ body: `<main>${'<p>Long page.</p>'.repeat(200)}</main>` }, PHONE);
      // WebKitGTK's MiniBrowser cannot be narrower than its toolbar (447 px): still a phone width
      // for the widget, whose phone layout applies below 480 px.
      const viewport = await t.evaluate(() => ({ width: innerWidth, height: innerHeight }));
      expect(viewport.width).toBeLessThan(PHONE_BREAKPOINT);
      await t.click(LAUNCHER);
      const dialog = await t.waitForVisible({ role: 'dialog' });
      const box = dialog.box!;
      expect(Math.round(box.x)).toBe(0);
      expect(Math.round(box.y)).toBe(0);
      expect(Math.round(box.width)).toBe(viewport.width);
      expect(Math.abs(box.height - viewport.height)).toBeLessThanOrEqual(2);
      // The message box is on screen, above the fold, and can be typed into.
      const input = await t.waitForVisible(MESSAGE);
      expect(input.box!.y + input.box!.height).toBeLessThanOrEqual(viewport.height);
      await t.click(MESSAGE);
      await t.type('On my phone');
      expect(await t.evaluateOn(MESSAGE, (box) => (box as HTMLTextAreaElement).value)).toBe('On my phone');
    });

    it('works on a strict-CSP page of another origin with zero violations', async () => {
      const api = new URL(site!.server.url).origin;
      expect(api).not.toBe(new URL(site!.host.url).origin);
      const reportsBefore = site!.host.cspReports.length;
      const csp = `default-src 'none'; script-src ${api}; connect-src ${api}; style-src 'self'; report-uri /csp-report`;
      const t = await open({ csp, css: 'body { font-family: serif; }' });
      await t.evaluate((key) => {
        const seen: string[] = ((window as unknown as Record<symbol, string[]>)[Symbol.for(key)] = []);
        document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} ${event.blockedURI}`));
      }, RECORD);
      site!.upstream.script({ kind: 'deltas', deltas: ['Strict ', 'pages ', '*work*', ' too.'] });
      await ask(t, 'Does it work here?');
      await replyEnded(t, 'pages work too.');
      expect(await t.evaluateOn(LOG, (log) => log!.querySelector('em')?.textContent)).toBe('work');
      // Styled by its constructed stylesheet, not an unstyled heap of elements.
      const panel = await t.find({ role: 'dialog' });
      expect(panel.box!.width).toBeGreaterThan(250);
      expect(await pageErrors(t)).toEqual([]);

      // Zero is only worth something if a violation would have been seen: make one on purpose and
      // wait for it to arrive both ways; it must then be the only one.
      await t.evaluate(() => {
        new Image().src = '/csp-probe.png';
      });
      const probe = (lines: string[]) => lines.some((line) => line.includes('csp-probe'));
      const reports = await t.waitFor('the probe\'s CSP report', async () => site!.host.cspReports.slice(reportsBefore), probe);
      const events = await t.waitFor(
        'the probe\'s securitypolicyviolation event',
        () => t.evaluate((key) => (window as unknown as Record<symbol, string[]>)[Symbol.for(key)] ?? [], RECORD),
        probe,
      );
      expect(reports.filter((line) => !line.includes('csp-probe')).filter(notFavicon)).toEqual([]);
      expect(events.filter((line) => !line.includes('csp-probe')).filter(notFavicon)).toEqual([]);
    });
  });
}
