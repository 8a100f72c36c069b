import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, type E2e } from './e2e-harness.js';

const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `word${i} `);
const GRACE_MS = 2_000;

/** Issue 6 in the browser: one continuous answer across a dropped connection and across a reload. */
describe('a reply that survives its connection, in Chromium', () => {
  let e2e: E2e;
  beforeAll(async () => {
    // A short grace, and replies longer than it: only a resume that really happened keeps them alive.
    e2e = await startE2e({ CHATDROP_RESUME_GRACE_MS: String(GRACE_MS) });
  });
  afterAll(async () => {
    await e2e?.close();
  });

  /** How many resumes the server has answered so far (its request log names the route). */
  function resumes(): number {
    return e2e.server.logs.filter((line) => line.includes('"route":"/api/chat/:messageId/stream"')).length;
  }

  /**
   * The log's text once the reply has finished (Stop gone) and its last delta is on screen (the
   * markdown renders on the next animation frame, so the text is what is waited for).
   */
  async function finishedText(page: import('playwright-core').Page, answer: string[]): Promise<string> {
    const log = page.getByRole('log');
    await expect.poll(async () => (await log.textContent())?.includes(answer.join('').trim()), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => page.getByRole('button', { name: 'Stop' }).count(), { timeout: 20_000 }).toBe(0);
    return (await log.textContent()) ?? '';
  }

  /**
   * Opens a fresh page, asks `question` and waits until the answer (`answer`, 50 ms a word, so
   * longer than the grace) is on screen up to word5. Returns the page and the upstream request's index.
   */
  async function askLong(question: string, answer: string[]) {
    const { page } = await e2e.open();
    e2e.upstream.script({ kind: 'deltas', deltas: answer, delayMs: 50 });
    const index = e2e.upstream.requests.length;
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill(question);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('word5 ');
    return { page, index };
  }

  /** One continuous answer: all of it, each word once, and the upstream request ran to its end. */
  function expectWhole(text: string, answer: string[], index: number): void {
    expect(text).toContain(answer.join('').trim());
    for (const word of [answer[0]!, answer[40]!, answer.at(-1)!.trim()]) expect(text.split(word).length - 1).toBe(1);
    expect(e2e.upstream.requests[index]?.aborted).toBe(false);
  }

  it('resumes by itself after the connection drops mid-answer: no gap, no duplicate, upstream never aborted', async () => {
    const answer = words(100); // 5 s, over twice the grace
    const { page, index } = await askLong('Tell me a story', answer);
    const resumesBefore = resumes();
    e2e.server.dropConnections(); // a network change: the stream is cut, the server keeps the reply running

    const text = await finishedText(page, answer);
    expectWhole(text, answer, index);
    expect(text).not.toContain('This reply was cut off.');
    expect(resumes()).toBeGreaterThan(resumesBefore);
  });

  it('a reload in the middle of an answer resumes it', async () => {
    const answer = words(120); // 6 s, three times the grace
    const { page, index } = await askLong('And another one', answer);
    const resumesBefore = resumes();
    await page.reload();
    await page.getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('And another one');
    expectWhole(await finishedText(page, answer), answer, index);
    expect(resumes()).toBeGreaterThan(resumesBefore);
  });
});
