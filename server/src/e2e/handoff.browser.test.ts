import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Conversation } from '@chatdrop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookBody } from '../handoff/webhook-channel.js';
import { startWebhookReceiver, type WebhookReceiver } from '../test/webhook-receiver.js';
import { startE2e, type E2e } from './e2e-harness.js';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The element focused inside the widget's shadow root, by its accessible name or text. */
const focused = (page: import('playwright-core').Page) =>
  page.evaluate(() => {
    let element: Element | null = document.activeElement;
    while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
    return element?.getAttribute('aria-label') ?? element?.getAttribute('type') ?? element?.tagName ?? '';
  });

describe('"Talk to a person" in Chromium', () => {
  let e2e: E2e;
  let hook: WebhookReceiver;
  beforeAll(async () => {
    hook = await startWebhookReceiver();
    e2e = await startE2e({ CHATDROP_HANDOFF_WEBHOOK: hook.url, CHATDROP_HANDOFF_WEBHOOK_SECRET: 'browser-test-secret-0123456789' });
  });
  afterAll(async () => {
    await e2e?.close();
    await hook?.close();
  });

  it('the visitor asks, opens the form, sends it, sees the confirmation, and the webhook gets the transcript', async () => {
    const { page } = await e2e.open({ attributes: { 'data-title': 'Acme Help' } });
    e2e.upstream.script({ kind: 'deltas', deltas: ['Refunds are ', 'handled by our billing team.'] });
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.evaluate(() => {
      const w = window as unknown as { handoffs: unknown[]; Chatdrop: { on(name: string, handler: (detail: unknown) => void): void } };
      w.handoffs = [];
      w.Chatdrop.on('handoff', (detail) => w.handoffs.push(detail));
    });
    const message = page.getByRole('textbox', { name: 'Message' });
    await message.fill('Can I get a refund for last month?');
    await message.press('Enter');
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('billing team.');

    const action = page.getByRole('button', { name: 'Talk to a person' });
    await action.click();
    const form = page.getByRole('form', { name: 'Talk to a person' });
    await form.waitFor();
    expect(await action.getAttribute('aria-expanded')).toBe('true');
    await expect.poll(() => focused(page)).toBe('email');

    // The browser checks the address before anything is sent.
    const email = form.getByRole('textbox', { name: 'Email' });
    await email.fill('not an address');
    await page.keyboard.press('Enter');
    expect(await email.evaluate((input) => (input as HTMLInputElement).validity.valid)).toBe(false);
    expect(hook.requests).toHaveLength(0);

    // No axe-core violation with the form open.
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string }[] }> } }).axe;
      const result = await axe.run({ include: [['chatdrop-widget']] }, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return result.violations.map((v) => v.id);
    });
    expect(violations).toEqual([]);

    await email.fill('visitor@example.com');
    await form.getByRole('textbox', { name: 'Note (optional)' }).fill('Order 1234 <b>please</b>');
    await form.getByRole('button', { name: 'Send' }).click();

    const confirmation = 'Thanks! The team will email you at visitor@example.com.';
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain(confirmation);
    expect(await page.getByRole('status').textContent()).toBe(confirmation);
    expect(await form.count()).toBe(0);
    await expect.poll(() => focused(page)).toBe('Message');

    const [delivered] = await hook.waitForAccepted(1);
    const body = JSON.parse(delivered!.body) as WebhookBody;
    const handoffs = await page.evaluate(() => (window as unknown as { handoffs: unknown[] }).handoffs);
    expect(handoffs).toEqual([{ conversationId: body.conversationId }]);
    const stored = (await (await fetch(`${e2e.server.url}/api/conversations/${body.conversationId}`)).json()) as Conversation;
    expect(body).toMatchObject({ type: 'handoff', email: 'visitor@example.com', note: 'Order 1234 <b>please</b>' });
    expect(body.transcript).toEqual(stored.messages.map((m) => ({ role: m.role, content: m.content, createdAt: m.createdAt })));
    expect(body.transcript.map((m) => m.content)).toEqual(['Can I get a refund for last month?', 'Refunds are handled by our billing team.']);
  });

  it('is usable by keyboard alone, and Escape closes the form but not the panel', async () => {
    const { page } = await e2e.open();
    e2e.upstream.script({ kind: 'deltas', deltas: ['Sure.'] });
    await page.getByRole('button', { name: 'Open chat' }).click();
    // Keys typed before the panel has loaded and focused its textbox would go to the launcher.
    await expect.poll(() => focused(page)).toBe('Message');
    await page.keyboard.type('Hello');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('Sure.');
    await page.getByRole('button', { name: 'Talk to a person' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe('email');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('form').count()).toBe(0);
    expect(await page.getByRole('dialog').isVisible()).toBe(true);
    await expect.poll(() => focused(page)).toBe('Message');
  });
});

describe('without a hand-off channel, in Chromium', () => {
  let e2e: E2e;
  beforeAll(async () => {
    e2e = await startE2e();
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it('shows no "Talk to a person"', async () => {
    const { page } = await e2e.open();
    e2e.upstream.script({ kind: 'deltas', deltas: ['Hello ', 'there.'] });
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('Hi');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('log').textContent(), { timeout: 10_000 }).toContain('there.');
    await page.getByRole('button', { name: 'Helpful', exact: true }).waitFor();
    // The panel has its config by now (it loads on open): it says nothing of a hand-off.
    expect(((await (await fetch(`${e2e.server.url}/api/config`)).json()) as { handoff?: boolean }).handoff).toBeUndefined();
    expect(await page.getByRole('button', { name: 'Talk to a person' }).count()).toBe(0);
  });
});
