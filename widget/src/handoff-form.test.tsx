import { effect } from '@preact/signals';
import { h } from 'preact';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/preact';
import type { Source } from '@chatdrop/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { createChatClient } from './chat-client.js';
import { ChatWidget } from './chat-widget.js';
import { createChatModel } from './chat-model.js';
import { createLauncher } from './launcher.js';
import { mergeSettings } from './settings.js';
import ar from './strings-ar.js';
import es from './strings-es.js';
import { LAUNCHER, localeOf } from './strings.js';
import { createFakeApi, delta, end, json, sse, start, until, type Handler } from './test/fake-api.js';
import { createWidgetView } from './widget-view.js';

/** The loader's launcher, wired to the view as in the page (mount-widget.ts, mount-panel.tsx). */
let launcher: { remove(): void } | undefined;
afterEach(() => {
  cleanup();
  launcher?.remove();
  launcher = undefined;
});

function setup(routes: Record<string, Handler>, { lang = 'en', handoff = true } = {}) {
  localStorage.clear();
  const api = createFakeApi(routes);
  const locale = localeOf(lang, lang === 'es' ? es : lang === 'ar' ? ar : undefined);
  const handoffs: unknown[] = [];
  const model = createChatModel({
    client: createChatClient(api.origin, api.fetch),
    storage: localStorage,
    key: 'chatdrop:test',
    onHandoff: (detail) => handoffs.push(detail),
  });
  const config = { title: 'Help', greeting: '', starters: [], models: [], demo: false, ...(handoff ? { handoff: true } : {}) };
  const view = createWidgetView(document, locale, mergeSettings(config, {}, locale.t), () => {});
  launcher?.remove();
  const { button, draw } = createLauncher(document.body, LAUNCHER[lang]!);
  button.addEventListener('click', () => view.setOpen(!view.open.peek()));
  const undraw = effect(() => draw(view.open.value, view.unread.value));
  launcher = { remove: () => (undraw(), button.remove()) };
  render(<ChatWidget model={model} view={view} />);
  return { api, handoffs };
}

/** Opens the panel and asks one question; the reply comes from the route's `chat` handler. */
async function ask(buttonName = 'Open chat', message = 'Message') {
  fireEvent.click(screen.getByRole('button', { name: buttonName }));
  const box = await screen.findByRole('textbox', { name: message });
  fireEvent.input(box, { target: { value: 'Can I get a refund?' } });
  fireEvent.keyDown(box, { key: 'Enter' });
  await until(() => screen.getByRole('log').textContent?.includes('I do not know') ?? false, 'reply');
}

/** A reply after the knowledge feature's `sources` event (undefined: no event, as on a site without knowledge). */
const chat = (sources?: Source[]): Handler => () =>
  sse([start('c1', 'a1'), ...(sources === undefined ? [] : [{ type: 'sources' as const, sources }]), delta('I do not know that.'), end()]);

describe('talk to a person', () => {
  it('is not offered where the server has no hand-off channel', async () => {
    setup({ 'POST /api/chat': chat([]) }, { handoff: false });
    await ask();
    expect(screen.queryByRole('button', { name: 'Talk to a person' })).toBeNull();
  });

  it('is offered in the panel once there is a conversation, and under a reply that could not answer', async () => {
    setup({ 'POST /api/chat': chat([]) });
    fireEvent.click(screen.getByRole('button', { name: 'Open chat' }));
    await screen.findByRole('dialog', { name: 'Help' });
    // Nothing to hand over yet.
    expect(screen.queryByRole('button', { name: 'Talk to a person' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Close chat' }));
    await ask();
    const offers = screen.getAllByRole('button', { name: 'Talk to a person' });
    expect(offers).toHaveLength(2);
    expect(offers.every((b) => b.getAttribute('aria-expanded') === 'false')).toBe(true);
  });

  it('is not offered under a reply grounded in sources, nor where knowledge said nothing', async () => {
    setup({ 'POST /api/chat': chat([{ title: 'Refunds', url: 'https://help.example.com/refunds' }]) });
    await ask();
    // Only the panel's own action.
    expect(screen.getAllByRole('button', { name: 'Talk to a person' })).toHaveLength(1);
    cleanup();
    setup({ 'POST /api/chat': chat() });
    await ask();
    expect(screen.getAllByRole('button', { name: 'Talk to a person' })).toHaveLength(1);
  });

  it('sends the address and note, confirms in the conversation, announces it, tells the page, and puts focus back in the message box', async () => {
    const { api, handoffs } = setup({
      'POST /api/chat': chat([]),
      'POST /api/handoff': () => json(202, { id: 'h1' }),
    });
    await ask();
    fireEvent.click(screen.getAllByRole('button', { name: 'Talk to a person' })[0]!);
    const form = await screen.findByRole('form', { name: 'Talk to a person' });
    const email = within(form).getByRole('textbox', { name: 'Email' }) as HTMLInputElement;
    await until(() => document.activeElement === email, 'focus in the address');
    expect(email.type).toBe('email');
    expect(email.required).toBe(true);
    fireEvent.input(email, { target: { value: ' visitor@example.com ' } });
    fireEvent.input(within(form).getByRole('textbox', { name: 'Note (optional)' }), { target: { value: 'Order 1234' } });
    fireEvent.submit(form);

    await until(() => screen.queryByRole('form') === null, 'form closes');
    const confirmation = 'Thanks! The team will email you at visitor@example.com.';
    expect(api.calls.find((c) => c.path === '/api/handoff')?.body).toEqual({ conversationId: 'c1', email: 'visitor@example.com', note: 'Order 1234' });
    expect(screen.getByRole('log').textContent).toContain(confirmation);
    expect(screen.getByRole('status').textContent).toBe(confirmation);
    expect(handoffs).toEqual([{ conversationId: 'c1' }]);
    await until(() => document.activeElement === screen.getByRole('textbox', { name: 'Message' }), 'focus back');
  });

  it("shows the server's words when it refuses, keeps the form, and lets the visitor try again", async () => {
    let n = 0;
    setup({
      'POST /api/chat': chat([]),
      'POST /api/handoff': () =>
        ++n === 1
          ? json(429, { error: { code: 'rate-limited', message: 'The team already has this conversation.' } }, { 'Retry-After': '60' })
          : json(202, { id: 'h1' }),
    });
    await ask();
    fireEvent.click(screen.getAllByRole('button', { name: 'Talk to a person' })[1]!);
    const form = await screen.findByRole('form', { name: 'Talk to a person' });
    fireEvent.input(within(form).getByRole('textbox', { name: 'Email' }), { target: { value: 'visitor@example.com' } });
    fireEvent.submit(form);
    const alert = await within(form).findByRole('alert');
    expect(alert.textContent).toBe('The team already has this conversation.');
    expect((within(form).getByRole('button', { name: 'Send' }) as HTMLButtonElement).disabled).toBe(false);
    fireEvent.submit(form);
    await until(() => screen.queryByRole('form') === null, 'form closes');
  });

  it('says something went wrong when the network fails', async () => {
    setup({ 'POST /api/chat': chat([]), 'POST /api/handoff': () => Promise.reject(new TypeError('Failed to fetch')) });
    await ask();
    fireEvent.click(screen.getAllByRole('button', { name: 'Talk to a person' })[0]!);
    const form = await screen.findByRole('form', { name: 'Talk to a person' });
    fireEvent.input(within(form).getByRole('textbox', { name: 'Email' }), { target: { value: 'visitor@example.com' } });
    fireEvent.submit(form);
    expect((await within(form).findByRole('alert')).textContent).toBe('Something went wrong. Please try again.');
  });

  it('Escape closes the form, not the panel; the action toggles it', async () => {
    setup({ 'POST /api/chat': chat([]) });
    await ask();
    const [action] = screen.getAllByRole('button', { name: 'Talk to a person' });
    fireEvent.click(action!);
    const form = await screen.findByRole('form', { name: 'Talk to a person' });
    expect(action!.getAttribute('aria-expanded')).toBe('true');
    fireEvent.keyDown(within(form).getByRole('textbox', { name: 'Email' }), { key: 'Escape' });
    await until(() => screen.queryByRole('form') === null, 'form closes');
    expect(screen.getByRole('dialog', { name: 'Help' })).toBeTruthy();
    fireEvent.click(action!);
    await screen.findByRole('form');
    fireEvent.click(action!);
    await until(() => screen.queryByRole('form') === null, 'toggled closed');
  });

  it('is closed by a new conversation, and does not come back with the next one', async () => {
    let n = 0;
    setup({ 'POST /api/chat': () => sse([start(`c${++n}`, `a${n}`), delta('I do not know that.'), end()]) });
    await ask();
    fireEvent.click(screen.getAllByRole('button', { name: 'Talk to a person' })[0]!);
    await screen.findByRole('form');
    fireEvent.click(screen.getByRole('button', { name: 'New conversation' }));
    await until(() => screen.queryByRole('form') === null, 'form closes');
    const box = screen.getByRole('textbox', { name: 'Message' });
    fireEvent.input(box, { target: { value: 'Another question' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    await until(() => screen.queryAllByRole('button', { name: 'Talk to a person' }).length === 1, 'a new conversation');
    expect(screen.queryByRole('form')).toBeNull();
  });

  it('speaks Spanish and Arabic', async () => {
    setup({ 'POST /api/chat': chat([]) }, { lang: 'es' });
    await ask('Abrir chat', 'Mensaje');
    fireEvent.click(screen.getAllByRole('button', { name: 'Hablar con una persona' })[0]!);
    const form = await screen.findByRole('form', { name: 'Hablar con una persona' });
    expect(within(form).getByRole('textbox', { name: 'Correo' })).toBeTruthy();
    expect(within(form).getByRole('textbox', { name: 'Nota (opcional)' })).toBeTruthy();
    cleanup();
    setup({ 'POST /api/chat': chat([]) }, { lang: 'ar' });
    await ask('فتح المحادثة', 'الرسالة');
    expect(screen.getAllByRole('button', { name: 'التحدث إلى شخص' })).toHaveLength(2);
  });
});
