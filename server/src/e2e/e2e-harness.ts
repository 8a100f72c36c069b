import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import type { Env } from '../config.js';
import { launchChromium } from './chromium.js';
import { startHostPage, type HostPage, type HostPageOptions } from './host-page.js';

/** The real widget build (loader, chunks, their brotli and gzip copies, the manifest): `pnpm test` builds it first. */
export const WIDGET_DIR = fileURLToPath(new URL('../../../widget/dist/', import.meta.url));
/** Its loader, the URL site owners paste. */
export const WIDGET_FILE = fileURLToPath(new URL('../../../widget/dist/widget.js', import.meta.url));

export interface E2e {
  upstream: MockUpstream;
  server: TestServer;
  host: HostPage;
  browser: Browser;
  /** A fresh browser context (its own localStorage) with a page on the host site. */
  open(options?: HostPageOptions & { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/** The site without a browser: what every engine's tests load their pages from. */
export interface Site {
  upstream: MockUpstream;
  server: TestServer;
  host: HostPage;
  /** The one URL a site owner pastes. */
  widgetUrl: string;
  close(): Promise<void>;
}

/**
 * The whole product as a site owner runs it: the real server (SQLite file, real `openai` SDK to the
 * mock upstream over HTTP) serving the whole widget build (the loader and the chunks it imports),
 * and a host page on another origin that only pastes the script tag.
 */
export async function startSite(env: Env = {}): Promise<Site> {
  if (!existsSync(`${WIDGET_DIR}manifest.json`)) {
    throw new Error(`${WIDGET_DIR}manifest.json is missing: build the widget first (pnpm test does).`);
  }
  const upstream = await startMockUpstream();
  const host = await startHostPage();
  const hostOrigin = new URL(host.url).origin;
  const server = await startTestServer({
    upstream,
    widgetDir: WIDGET_DIR,
    env: { ALLOWED_ORIGINS: hostOrigin, ...env },
  });
  const widgetUrl = `${server.url}/widget.js`;
  return {
    upstream,
    server,
    host,
    widgetUrl,
    async close() {
      await server.close();
      await host.close();
      await upstream.close();
    },
  };
}

/** The site and Debian's Chromium through playwright-core. */
export async function startE2e(env: Env = {}): Promise<E2e> {
  const { upstream, server, host, widgetUrl, close: closeSite } = await startSite(env);
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  return {
    upstream,
    server,
    host,
    browser,
    async open(options = {}) {
      const { viewport, colorScheme, ...page } = options;
      host.set({ ...page, widgetUrl });
      const context = await browser.newContext({ viewport: viewport ?? { width: 1280, height: 800 }, colorScheme: colorScheme ?? 'light' });
      contexts.push(context);
      // An action that cannot happen (a button that never shows) fails in 20 s naming what it
      // waited for, rather than as the test's own 60 s timeout that names nothing.
      context.setDefaultTimeout(20_000);
      const tab = await context.newPage();
      await tab.goto(host.url);
      return { context, page: tab };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await closeSite();
    },
  };
}
