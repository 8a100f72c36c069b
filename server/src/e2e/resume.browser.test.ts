import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startE2e, type E2e } from './e2e-harness.js';

const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `word${i} `);

/**
 * Issue 6 in the browser: one continuous answer across a dropped connection and across a reload.
 *
 * The upstream holds each answer in the middle until the widget's resume has been answered, so the
 * answer is still running when the connection goes, however slow the machine; the grace is left
 * long, so the widget's resume never races it (what the grace does is `resume.test.ts`'s part).
 */
describe('a reply that survives its connection, in Chromium', () => {
  let e2e: E2e;
  const releases: (() => void)[] = [];
  beforeAll(async () => {
    e2e = await startE2e({ CHATDROP_RESUME_GRACE_MS: '600000' });
  });
  afterAll(async () => {
    for (const release of releases) release();
    await e2e?.close();
  });

  /**
   * The log's text once the reply has finished (Stop gone) and its last delta is on screen (the
   * markdown renders on the next animation frame, so the text is what is waited for).
   */
  async function finishedText(page: Page, answer: string[]): Promise<string> {
    const log = page.getByRole('log');
    await expect.poll(async () => (await log.textContent())?.includes(answer.join('').trim()), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => page.getByRole('button', { name: 'Stop' }).count(), { timeout: 30_000 }).toBe(0);
    return (await log.textContent()) ?? '';
  }

  /**
   * Opens a fresh page and asks `question`; the upstream sends `answer` up to word 20 and holds
   * the rest until `release()`. Resolves once word5 is on screen.
   */
  async function askHeld(question: string, answer: string[]) {
    const { page } = await e2e.open();
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    releases.push(release);
    e2e.upstream.script({ kind: 'deltas', deltas: answer, delayMs: 5, holdBefore: { delta: 20, until } });
    const index = e2e.upstream.requests.length;
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill(question);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 30_000 }).toContain('word5 ');
    return { page, index, release };
  }

  /** Resolves with the status of the widget's next resume (`GET /api/chat/:id/stream`). */
  function nextResume(page: Page): Promise<number> {
    return page
      .waitForResponse((response) => /\/api\/chat\/[^/]+\/stream$/.test(new URL(response.url()).pathname), { timeout: 30_000 })
      .then((response) => response.status());
  }

  /** One continuous answer: all of it, each word once, from one upstream request that ran to its end. */
  function expectWhole(text: string, answer: string[], index: number): void {
    expect(text).toContain(answer.join('').trim());
    for (const word of [answer[0]!, answer[40]!, answer.at(-1)!.trim()]) expect(text.split(word).length - 1).toBe(1);
    expect(e2e.upstream.requests).toHaveLength(index + 1);
    expect(e2e.upstream.requests[index]?.aborted).toBe(false);
  }

  it('resumes by itself after the connection drops mid-answer: no gap, no duplicate, upstream never aborted', async () => {
    const answer = words(100);
    const { page, index, release } = await askHeld('Tell me a story', answer);
    const resumed = nextResume(page);
    e2e.server.dropConnections(); // a network change: the stream is cut, the server keeps the reply running
    expect(await resumed).toBe(200);
    release(); // the rest can only reach the page through the resumed stream

    const text = await finishedText(page, answer);
    expectWhole(text, answer, index);
    expect(text).not.toContain('This reply was cut off.');
  });

  it('a reload in the middle of an answer resumes it', async () => {
    const answer = words(120);
    const { page, index, release } = await askHeld('And another one', answer);
    const resumed = nextResume(page);
    await page.reload();
    await page.getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 30_000 }).toContain('And another one');
    expect(await resumed).toBe(200);
    release();
    expectWhole(await finishedText(page, answer), answer, index);
  });
});
