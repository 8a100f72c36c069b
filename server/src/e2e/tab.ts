import type { DriverPage, EngineName, Key, Viewport } from './browser-driver.js';
import { findAll, focusedName, inspect, type Found, type Target } from './in-page.js';

export type { Target } from './in-page.js';

/** Long enough for a loaded 2-core machine running three browsers; a wait ends at its event. */
export const WAIT_MS = 20_000;
const POLL_MS = 50;

/** The in-page helpers, defined for one evaluation (nothing is left on the page's `window`). */
const HELPERS = `const findAll = ${findAll.toString()}; const inspect = ${inspect.toString()}; const focusedName = ${focusedName.toString()};`;

/**
 * What a test does with a page, written once for every engine on top of a `DriverPage`: find by
 * role and accessible name (or a CSS selector through shadow roots), click as a pointer would,
 * type and press keys into the focused element, wait for a condition.
 */
export class Tab {
  constructor(
    readonly engine: EngineName,
    readonly page: DriverPage,
  ) {}

  /**
   * Runs `fn` in the page with JSON arguments and answers its JSON result. `fn` is sent as source
   * text: it may use only its arguments and the page's globals.
   */
  async evaluate<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    return (await this.page.evaluate(`(${fn.toString()})(...${JSON.stringify(args)})`)) as Awaited<R>;
  }

  /** Runs `fn` on the first element matching `target` (null when there is none). */
  async evaluateOn<A extends unknown[], R>(target: Target, fn: (element: Element | null, ...args: A) => R, ...args: A): Promise<Awaited<R>> {
    const expression = `(() => { ${HELPERS} return (${fn.toString()})(findAll(${JSON.stringify(target)})[0] ?? null, ...${JSON.stringify(args)}); })()`;
    return (await this.page.evaluate(expression)) as Awaited<R>;
  }

  /** A snapshot of the first element matching `target`. */
  async find(target: Target, scroll = false): Promise<Found> {
    return (await this.page.evaluate(`(() => { ${HELPERS} return inspect(${JSON.stringify(target)}, ${scroll}); })()`)) as Found;
  }

  /** The text of the first element matching `target` ('' while there is none). */
  async text(target: Target): Promise<string> {
    return (await this.find(target)).text;
  }

  /** The aria-label (or text) of the focused element, looking inside shadow roots. */
  async focusedName(): Promise<string> {
    return (await this.page.evaluate(`(() => { ${HELPERS} return focusedName(); })()`)) as string;
  }

  /**
   * Polls `probe` until `done` holds, answering the value that satisfied it; fails after `timeoutMs`
   * with `what` and the last value seen.
   */
  async waitFor<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = WAIT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: T | undefined;
    let lastError: unknown;
    for (;;) {
      try {
        last = await probe();
        if (done(last)) return last;
      } catch (error) {
        lastError = error; // a page mid-navigation cannot answer; the next poll will
      }
      if (Date.now() > deadline) {
        const seen = lastError && last === undefined ? String(lastError) : JSON.stringify(last)?.slice(0, 500);
        throw new Error(`${this.engine}: waited ${timeoutMs} ms for ${what}; last seen: ${seen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Waits until `target` is visible, and answers its snapshot. */
  waitForVisible(target: Target, timeoutMs = WAIT_MS): Promise<Found> {
    return this.waitFor(`${JSON.stringify(target)} to be visible`, () => this.find(target), (found) => found.visible, timeoutMs);
  }

  /** Waits until nothing visible matches `target`. */
  async waitForHidden(target: Target, timeoutMs = WAIT_MS): Promise<void> {
    await this.waitFor(`${JSON.stringify(target)} to be hidden`, () => this.find(target), (found) => !found.visible, timeoutMs);
  }

  /** Waits until the text of `target` contains `text`, and answers the whole text. */
  async waitForText(target: Target, text: string, timeoutMs = WAIT_MS): Promise<string> {
    const found = await this.waitFor(`${JSON.stringify(target)} to contain ${JSON.stringify(text)}`, () => this.find(target), (f) => f.text.includes(text), timeoutMs);
    return found.text;
  }

  /**
   * Clicks `target` as a visitor would: once it is visible, nothing covers its centre and it has
   * stopped moving (the same box twice running), a real pointer click there through the engine's
   * input pipeline (so an element hidden under another one, or off screen, fails the test rather
   * than receiving a synthetic event).
   */
  async click(target: Target): Promise<void> {
    let previous = '';
    const found = await this.waitFor(
      `${JSON.stringify(target)} to be visible, uncovered and still`,
      () => this.find(target, true),
      (f) => {
        const box = JSON.stringify(f.box);
        const still = box === previous;
        previous = box;
        return f.visible && f.onTop && still;
      },
    );
    const box = found.box!;
    await this.page.clickAt(Math.round(box.x + box.width / 2), Math.round(box.y + box.height / 2));
  }

  /** Types into the focused element, key by key. */
  type(text: string): Promise<void> {
    return this.page.type(text);
  }

  press(key: Key): Promise<void> {
    return this.page.press(key);
  }

  reload(): Promise<void> {
    return this.page.reload();
  }

  goto(url: string): Promise<void> {
    return this.page.goto(url);
  }

  setViewport(size: Viewport): Promise<Viewport> {
    return this.page.setViewport(size);
  }

  errors(): Promise<string[]> {
    return this.page.errors();
  }

  close(): Promise<void> {
    return this.page.close();
  }
}
