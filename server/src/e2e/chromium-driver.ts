import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { BrowserDriver, DriverPage, Viewport } from './browser-driver.js';
import { CHROMIUM_LAUNCH } from './chromium.js';
import { stopProcess, within } from './stop-process.js';

/** Debian's Chromium through playwright-core (CDP); a browser context per page. */
export async function launchChromiumDriver(): Promise<BrowserDriver> {
  // launchServer, not launch: it hands over the browser's PID, which teardown stops for sure.
  const server = await chromium.launchServer(CHROMIUM_LAUNCH);
  const pid = server.process().pid;
  const browser = await chromium.connect(server.wsEndpoint()).catch(async (error: unknown) => {
    await within(10_000, server.close());
    await stopProcess(pid, { group: true });
    throw error;
  });
  return {
    engine: 'chromium',
    async open(url, viewport) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      const driverPage = chromiumPage(context, page);
      await driverPage.goto(url);
      return driverPage;
    },
    async close() {
      await within(10_000, browser.close());
      await within(10_000, server.close());
      await stopProcess(pid, { group: true });
    },
  };
}

function chromiumPage(context: BrowserContext, page: Page): DriverPage {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return {
    async goto(url) {
      await page.goto(url);
    },
    async reload() {
      await page.reload();
    },
    async setViewport(size: Viewport) {
      await page.setViewportSize(size);
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
