import { existsSync } from 'node:fs';

/**
 * The few things a test needs from a browser, the same in every engine, so that one test body runs
 * in Chromium, Firefox and WebKit. Each engine has one file implementing it
 * (`chromium-driver.ts`, `firefox-driver.ts`, `webkit-driver.ts`); what a test does with a page
 * (find by role, click, wait) is written once on top of it, in `tab.ts`.
 */
export type EngineName = 'chromium' | 'firefox' | 'webkit';

export interface Viewport {
  width: number;
  height: number;
}

/** The keys the tests press; each driver maps them to its own names. */
export type Key = 'Enter' | 'Tab' | 'Escape';

/** One browser of one engine, started once per test file. */
export interface BrowserDriver {
  engine: EngineName;
  /** A fresh page with storage of its own (a new context or session) showing `url`. */
  open(url: string, viewport: Viewport): Promise<DriverPage>;
  /** Stops every process this driver started, by PID; safe after a failure and when called twice. */
  close(): Promise<void>;
}

export interface DriverPage {
  goto(url: string): Promise<void>;
  reload(): Promise<void>;
  /** Resizes the page; answers the size of the layout viewport it got (`innerWidth` and `innerHeight`). */
  setViewport(size: Viewport): Promise<Viewport>;
  /**
   * Evaluates a JavaScript expression in the page and answers its JSON value (a promise is awaited).
   * Only expressions, never `eval` in the page: a strict CSP page forbids eval, not the driver.
   */
  evaluate(expression: string): Promise<unknown>;
  /** A real pointer click (move, press, release) at these viewport coordinates in CSS pixels. */
  clickAt(x: number, y: number): Promise<void>;
  /** Types text key by key into whatever has focus. */
  type(text: string): Promise<void>;
  press(key: Key): Promise<void>;
  /** Console errors and uncaught exceptions the page reported so far. */
  errors(): Promise<string[]>;
  close(): Promise<void>;
}

/** WebKitGTK's MiniBrowser, in the package libwebkit2gtk-4.1-0 (under Debian's multiarch folder). */
export const MINIBROWSER = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/webkit2gtk-4.1/MiniBrowser`;

/** The Debian package that brings each engine (CI installs them through `.ci/system-deps`). */
export const ENGINE_PACKAGES: Record<EngineName, { binaries: string[]; packages: string }> = {
  chromium: { binaries: [process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'], packages: 'chromium' },
  firefox: { binaries: ['/usr/bin/firefox-esr'], packages: 'firefox-esr' },
  webkit: {
    binaries: ['/usr/bin/WebKitWebDriver', MINIBROWSER, '/usr/bin/Xvfb'],
    packages: 'webkit2gtk-driver xvfb',
  },
};

/**
 * Throws, with the command that installs it, when an engine is not on this machine. Call it while
 * the test file loads: the run then counts the file as failed, where a throwing `beforeAll` would
 * only mark its tests skipped. A missing browser must never pass quietly.
 */
export function requireEngine(engine: EngineName): void {
  const { binaries, packages } = ENGINE_PACKAGES[engine];
  const missing = binaries.filter((binary) => !existsSync(binary));
  if (missing.length > 0) {
    throw new Error(
      `The ${engine} tests need ${missing.join(', ')}, which is not installed. ` +
        `Install it with: sudo apt-get install -y --no-install-recommends ${packages} (or run sh .ci/system-deps as root).`,
    );
  }
}

/** Starts the engine's browser (and its driver and display, for WebKit). */
export async function launchDriver(engine: EngineName): Promise<BrowserDriver> {
  requireEngine(engine);
  switch (engine) {
    case 'chromium':
      return (await import('./chromium-driver.js')).launchChromiumDriver();
    case 'firefox':
      return (await import('./firefox-driver.js')).launchFirefoxDriver();
    case 'webkit':
      return (await import('./webkit-driver.js')).launchWebKitDriver();
    default: {
      const unexpected: never = engine;
      throw new Error(`unknown engine ${String(unexpected)}`);
    }
  }
}
