import { spawn } from 'node:child_process';
import { Builder, Key as SeleniumKey, Origin, type WebDriver } from 'selenium-webdriver';
import { MINIBROWSER, type BrowserDriver, type DriverPage, type Key, type Viewport } from './browser-driver.js';
import { freePort } from '../test/redis-server.js';
import { stopProcess, within } from './stop-process.js';
import { startXvfb } from './xvfb.js';

const KEYS: Record<Key, string> = { Enter: SeleniumKey.ENTER, Tab: SeleniumKey.TAB, Escape: SeleniumKey.ESCAPE };

/**
 * Safari's engine as Debian ships it: WebKitGTK's `WebKitWebDriver` (classic W3C WebDriver; WebKitGTK
 * has no BiDi) driving its MiniBrowser (`--automation`: an ephemeral profile, no session restore)
 * on an Xvfb display of our own, through selenium-webdriver (lighter than webdriverio; 4.46 is the
 * last release that supports Node 20). A WebDriver session, so a fresh MiniBrowser, per page: a
 * session is WebKit's only kind of isolated storage here, and it starts in about a second.
 */
export async function launchWebKitDriver(): Promise<BrowserDriver> {
  const xvfb = await startXvfb();
  const port = await freePort();
  // Detached: WebKitWebDriver leads a process group holding MiniBrowser and its web processes,
  // so one signal to the group stops them all even if a session was never ended.
  const child = spawn('WebKitWebDriver', [`--port=${port}`], {
    env: { ...process.env, DISPLAY: xvfb.display },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const server = `http://127.0.0.1:${port}`;
  const sessions = new Set<WebDriver>();
  const stopAll = async () => {
    for (const session of sessions) await within(10_000, session.quit());
    sessions.clear();
    await stopProcess(child.pid, { group: true });
    await xvfb.stop();
  };
  try {
    await waitUntilReady(server, () => output);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    engine: 'webkit',
    async open(url, viewport) {
      const session = await new Builder()
        .usingServer(server)
        .withCapabilities({
          browserName: 'MiniBrowser',
          // WebKitGTK's own capability: which browser binary the driver starts, with what arguments.
          'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
        })
        .build();
      sessions.add(session);
      const page = webkitPage(session, () => sessions.delete(session));
      await page.setViewport(viewport);
      await page.goto(url);
      return page;
    },
    close: stopAll,
  };
}

/** Polls the driver's `/status` (W3C WebDriver §8.3) until it says it is ready. */
async function waitUntilReady(server: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const response = await fetch(`${server}/status`);
      const body = (await response.json()) as { value?: { ready?: boolean } };
      if (body.value?.ready) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`WebKitWebDriver did not become ready within 20 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Classic WebDriver has no console log for WebKitGTK, so the page's errors are gathered by a hook
 * installed after each load, kept under a symbol (not a global name the page could see).
 */
const HOOK_ERRORS = `(() => {
  const key = Symbol.for('chatdrop.test.errors');
  if (window[key]) return;
  const errors = (window[key] = []);
  const original = console.error;
  console.error = (...args) => { errors.push('console: ' + args.map(String).join(' ')); original.apply(console, args); };
  addEventListener('error', (event) => errors.push('uncaught: ' + event.message));
  addEventListener('unhandledrejection', (event) => errors.push('uncaught: ' + String(event.reason)));
})()`;
const READ_ERRORS = `window[Symbol.for('chatdrop.test.errors')] ?? []`;

function webkitPage(session: WebDriver, forget: () => void): DriverPage {
  const earlier: string[] = [];
  const evaluate = (expression: string) => session.executeScript<unknown>(`return (${expression});`);
  const keepErrors = async () => earlier.push(...((await evaluate(READ_ERRORS).catch(() => [])) as string[]));
  return {
    async goto(url) {
      await keepErrors();
      await session.get(url);
      await evaluate(HOOK_ERRORS);
    },
    async reload() {
      await keepErrors();
      await session.navigate().refresh();
      await evaluate(HOOK_ERRORS);
    },
    async setViewport(size: Viewport) {
      // The window includes MiniBrowser's toolbar: size it, measure the difference, size it again.
      // GTK will not make the window narrower than the toolbar (447 px), whatever is asked.
      const browserWindow = session.manage().window();
      await browserWindow.setRect({ width: size.width, height: size.height });
      const inner = (await evaluate('({ width: innerWidth, height: innerHeight })')) as Viewport;
      if (inner.height !== size.height || inner.width !== size.width) {
        const rect = await browserWindow.getRect();
        await browserWindow.setRect({ width: rect.width + size.width - inner.width, height: rect.height + size.height - inner.height });
      }
      return (await evaluate('({ width: innerWidth, height: innerHeight })')) as Viewport;
    },
    evaluate,
    async clickAt(x, y) {
      await session.actions({ async: true }).move({ x, y, origin: Origin.VIEWPORT }).click().perform();
    },
    async type(text) {
      await session.actions({ async: true }).sendKeys(text).perform();
    },
    async press(key) {
      await session.actions({ async: true }).sendKeys(KEYS[key]).perform();
    },
    async errors() {
      return [...earlier, ...((await evaluate(READ_ERRORS)) as string[])];
    },
    async close() {
      forget();
      await within(10_000, session.quit());
    },
  };
}
