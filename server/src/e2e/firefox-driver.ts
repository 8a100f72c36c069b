import puppeteer, { type BrowserContext, type Page } from 'puppeteer-core';
import type { BrowserDriver, DriverPage, Viewport } from './browser-driver.js';
import { stopProcess, within } from './stop-process.js';

/**
 * Debian's Firefox ESR, headless, through puppeteer-core over WebDriver BiDi (Firefox's own
 * remote agent: no geckodriver). puppeteer-core stays on 24.x, the last line that supports Node 20.
 * A browser context (its own storage) per page.
 */
export async function launchFirefoxDriver(): Promise<BrowserDriver> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    // Keep Firefox from calling out to Mozilla's services, which this machine refuses anyway.
    extraPrefsFirefox: {
      'app.update.enabled': false,
      'browser.safebrowsing.downloads.remote.enabled': false,
      'network.captive-portal-service.enabled': false,
      'network.connectivity-service.enabled': false,
      'datareporting.policy.dataSubmissionEnabled': false,
    },
  });
  const pid = browser.process()?.pid;
  return {
    engine: 'firefox',
    async open(url, viewport) {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      await page.setViewport(viewport);
      const driverPage = firefoxPage(context, page);
      await driverPage.goto(url);
      return driverPage;
    },
    async close() {
      await within(10_000, browser.close());
      await stopProcess(pid, { group: true });
    },
  };
}

function firefoxPage(context: BrowserContext, page: Page): DriverPage {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error instanceof Error ? error.message : String(error)}`));
  return {
    async goto(url) {
      await page.goto(url);
    },
    async reload() {
      await page.reload();
    },
    async setViewport(size: Viewport) {
      await page.setViewport(size);
      return page.evaluate(() => ({ width: innerWidth, height: innerHeight }));
    },
    evaluate: (expression) => page.evaluate(expression),
    clickAt: (x, y) => page.mouse.click(x, y),
    type: (text) => page.keyboard.type(text),
    press: (key) => page.keyboard.press(key),
    errors: async () => [...errors],
    async close() {
      await context.close();
    },
  };
}
