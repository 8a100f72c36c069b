import { effect } from '@preact/signals';
import { h } from 'preact';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import { createChatClient } from './chat-client.js';
import { ChatWidget } from './chat-widget.js';
import { createChatModel } from './chat-model.js';
import { createLauncher } from './launcher.js';
import { mergeSettings } from './settings.js';
import ar from './strings-ar.js';
import es from './strings-es.js';
import { LAUNCHER, localeOf } from './strings.js';
import { createFakeApi, delta, end, gate, json, sse, start, until, type Handler } from './test/fake-api.js';
import { createWidgetView } from './widget-view.js';

/** The loader's launcher, wired to the view as in the page (mount-widget.ts, mount-panel.tsx). */
let launcher: { remove(): void } | undefined;
const removeLauncher = () => {
  launcher?.remove();
  launcher = undefined;
};
afterEach(() => {
  cleanup();
  removeLauncher();
});

function setup(routes: Record<string, Handler> = {}, { lang = 'en', config = {} } = {}) {
  localStorage.clear();
  const api = createFakeApi(routes);
  const locale = localeOf(lang, lang === 'es' ? es : lang === 'ar' ? ar : undefined);
  const model = createChatModel({ client: createChatClient(api.origin, api.fetch), storage: localStorage, key: 'chatdrop:test' });
  const view = createWidgetView(document, locale, mergeSettings({ title: 'Help', greeting: '', starters: [], models: [], demo: false, ...config }, {}, locale.t), () => {});
  removeLauncher();
  const { button, draw } = createLauncher(document.body, LAUNCHER[lang]!);
  button.addEventListener('click', () => view.setOpen(!view.open.peek()));
  const undraw = effect(() => draw(view.open.value, view.unread.value));
  launcher = { remove: () => (undraw(), button.remove()) };
  render(<ChatWidget model={model} view={view} />);
  return { api, model, view };
}

const open = async () => {
  fireEvent.click(screen.getByRole('button', { name: 'Open chat' }));
  return screen.findByRole('dialog', { name: 'Help' });
};
const type = (text: string) => fireEvent.input(screen.getByRole('textbox', { name: 'Message' }), { target: { value: text } });
const press = (key: string, init: Partial<KeyboardEventInit> = {}) =>
  fireEvent.keyDown(screen.getByRole('textbox', { name: 'Message' }), { key, ...init });

describe('chat widget', () => {
  it('names the launcher Open chat, then Close chat with aria-expanded', async () => {
    setup();
    const launcher = screen.getByRole('button', { name: 'Open chat' });
    expect(launcher.getAttribute('aria-expanded')).toBe('false');
    expect(screen.queryByRole('dialog')).toBeNull();
    await open();
    expect(launcher.getAttribute('aria-label')).toBe('Close chat');
    expect(launcher.getAttribute('aria-expanded')).toBe('true');
  });

  it('opens a dialog named by the title, with a log, and focus in the Message textbox', async () => {
    setup();
    const dialog = await open();
    expect(within(dialog).getByRole('log')).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: 'New conversation' })).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: 'Send' })).toBeTruthy();
    await until(() => document.activeElement === screen.getByRole('textbox', { name: 'Message' }), 'focus');
  });

  it('Escape closes the panel and focus returns to the launcher', async () => {
    setup();
    await open();
    await until(() => document.activeElement?.tagName === 'TEXTAREA', 'focus');
    press('Escape');
    await until(() => screen.queryByRole('dialog') === null, 'close');
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Open chat' }));
  });

  it('Enter sends, Shift+Enter does not; Send is disabled and Stop shown while streaming', async () => {
    const hold = gate();
    const { api } = setup({
      'POST /api/chat': (req) => sse([start()], { signal: req.signal, hold: hold.promise }),
    });
    await open();
    type('line one');
    press('Enter', { shiftKey: true });
    expect(api.calls).toHaveLength(0);
    press('Enter');
    await until(() => api.calls.length === 1, 'send');
    expect(api.calls[0]?.body).toEqual({ message: 'line one' });
    expect((screen.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement).value).toBe('');
    await until(() => !!screen.queryByRole('button', { name: 'Stop' }), 'Stop button');
    expect((screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByRole('img', { name: 'Typing…' })).toBeTruthy();
    hold.open();
  });

  it('streams the reply into the log, then offers feedback and Copy; the live region gets it once', async () => {
    const hold = gate();
    setup({
      'POST /api/chat': (req) =>
        sse([start(), delta('Hello ')], { signal: req.signal, hold: hold.promise }),
    });
    await open();
    type('Hi');
    press('Enter');
    await until(() => screen.getByRole('log').textContent?.includes('Hello') ?? false, 'first delta');
    expect(screen.queryByRole('img', { name: 'Typing…' })).toBeNull();
    expect(screen.getByRole('status').textContent).toBe('');
    expect(screen.getByRole('log').getAttribute('aria-live')).toBe('off');
    hold.open();
    // the held stream closes without message-end here: an error line with Retry appears
    await until(() => !!screen.queryByRole('alert'), 'error');
    expect(screen.getByRole('alert').textContent).toContain('Something went wrong');
  });

  it('shows feedback buttons and Copy on a finished reply, and announces it', async () => {
    const { api } = setup({
      'POST /api/chat': () => sse([start('c1', 'a1'), delta('All **done**'), end()]),
      'POST /api/feedback': () => new Response(null, { status: 204 }),
    });
    await open();
    type('Hi');
    press('Enter');
    const up = await screen.findByRole('button', { name: 'Helpful' });
    expect(screen.getByRole('button', { name: 'Not helpful' })).toBeTruthy();
    expect(screen.getAllByRole('button', { name: 'Copy' }).length).toBeGreaterThan(0);
    expect(screen.getByRole('status').textContent).toBe('All done'); // the words, not the markdown marks
    fireEvent.click(up);
    await until(() => up.getAttribute('aria-pressed') === 'true', 'pressed');
    await until(() => api.calls.some((c) => c.path === '/api/feedback'), 'feedback');
  });

  it('says under a reply cut at the length limit that it was cut short, and the live region says so once', async () => {
    let n = 0;
    setup({ 'POST /api/chat': () => sse(++n === 1 ? [start('c1', 'a1'), delta('A long answer that'), end('length')] : [start('c1', 'a2'), delta('Short.'), end()]) });
    await open();
    type('Tell me everything');
    press('Enter');
    await screen.findByText('Cut short at the length limit.');
    // Still a finished reply: feedback and Copy, no Retry and no error.
    expect(screen.getByRole('button', { name: 'Helpful' })).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.queryByText('This reply was cut off.')).toBeNull();
    expect(screen.getByRole('status').textContent).toBe('A long answer that Cut short at the length limit.');
    // The next reply, stopped normally, gets no note and is heard without one.
    type('Thanks');
    press('Enter');
    await until(() => screen.getByRole('status').textContent === 'Short.', 'second announcement');
    expect(screen.getAllByText('Cut short at the length limit.')).toHaveLength(1);
  });

  it('after an error shows the message and Retry, which resends the same question', async () => {
    let n = 0;
    const { api } = setup({
      'POST /api/chat': () =>
        ++n === 1
          ? json(503, { error: { code: 'upstream-unavailable', message: 'The assistant is unavailable right now.' } })
          : sse([start(), delta('Back'), end()]),
    });
    await open();
    type('Are you there?');
    press('Enter');
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('The assistant is unavailable right now.');
    fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    await until(() => api.calls.length === 2, 'retry');
    expect(api.calls[1]?.body).toEqual({ message: 'Are you there?' });
    await until(() => screen.getByRole('log').textContent?.includes('Back') ?? false, 'reply');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('tells the visitor when to try again after a 429', async () => {
    setup({ 'POST /api/chat': () => json(429, { error: { code: 'rate-limited', message: 'Too many.' } }, { 'Retry-After': '17' }) });
    await open();
    type('Hi');
    press('Enter');
    expect((await screen.findByRole('alert')).textContent).toContain('Try again in 17 s.');
  });

  it('lists the pages a reply was grounded in as links named by their titles, under the reply', async () => {
    setup({
      'POST /api/chat': () =>
        sse([
          start(),
          { type: 'sources', sources: [{ title: 'Reset your password', url: 'https://help.example.com/reset' }, { title: 'Two-factor authentication', url: 'https://help.example.com/2fa' }] },
          delta('Use **Forgot password?**.'),
          end(),
        ]),
    });
    await open();
    type('How do I reset my password?');
    press('Enter');
    const list = await screen.findByRole('list', { name: 'Sources' });
    const links = within(list).getAllByRole('link');
    expect(links.map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('target'), a.getAttribute('rel')])).toEqual([
      ['Reset your password', 'https://help.example.com/reset', '_blank', 'noopener noreferrer'],
      ['Two-factor authentication', 'https://help.example.com/2fa', '_blank', 'noopener noreferrer'],
    ]);
  });

  it('shows no sources list for an empty list, and never a non-http(s) link from a stored reply', async () => {
    const { model } = setup({
      'GET /api/conversations/:id': () =>
        json(200, {
          id: 'c1',
          messages: [
            { id: 'u1', role: 'user', content: 'Q1', createdAt: 'x', status: 'complete' },
            { id: 'a1', role: 'assistant', content: 'Not covered.', createdAt: 'y', status: 'complete', sources: [] },
            { id: 'u2', role: 'user', content: 'Q2', createdAt: 'x', status: 'complete' },
            {
              id: 'a2', role: 'assistant', content: 'Covered.', createdAt: 'y', status: 'complete',
              sources: [{ title: 'Evil', url: 'javascript:alert(1)' }, { title: 'Mail', url: 'mailto:a@b.c' }, { title: 'Plans', url: 'https://help.example.com/plans' }],
            },
          ],
        }),
    });
    localStorage.setItem('chatdrop:test', 'c1');
    await model.restore();
    await open();
    const lists = screen.getAllByRole('list', { name: 'Sources' });
    expect(lists).toHaveLength(1);
    expect(within(lists[0] as HTMLElement).getAllByRole('link').map((a) => a.getAttribute('href'))).toEqual(['https://help.example.com/plans']);
  });

  it('labels the sources in Spanish and Arabic', async () => {
    for (const [lang, label] of [['es', 'Fuentes'], ['ar', 'المصادر']] as const) {
      cleanup();
      setup({ 'POST /api/chat': () => sse([start(), { type: 'sources', sources: [{ title: 'Plans', url: 'https://help.example.com/plans' }] }, delta('Hi'), end()]) }, { lang });
      fireEvent.click(screen.getByRole('button', { name: lang === 'es' ? 'Abrir chat' : 'فتح المحادثة' }));
      fireEvent.input(await screen.findByRole('textbox'), { target: { value: 'Q' } });
      fireEvent.keyDown(screen.getByRole('textbox'), { key: 'Enter' });
      expect(await screen.findByRole('list', { name: label })).toBeTruthy();
    }
  });

  it('marks a restored incomplete reply as cut off, with Retry', async () => {
    const { model, api } = setup({
      'GET /api/conversations/:id': () =>
        json(200, {
          id: 'c1',
          messages: [
            { id: 'u1', role: 'user', content: 'Q', createdAt: 'x', status: 'complete' },
            { id: 'a1', role: 'assistant', content: 'Half an ans', createdAt: 'y', status: 'incomplete' },
          ],
        }),
      'POST /api/chat': () => sse([start(), delta('Whole answer'), end()]),
    });
    localStorage.setItem('chatdrop:test', 'c1');
    await model.restore();
    await open();
    expect(screen.getByText('This reply was cut off.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await until(() => screen.getByRole('log').textContent?.includes('Whole answer') ?? false, 'retried');
    expect(api.calls.at(-1)?.body).toEqual({ message: 'Q', conversationId: 'c1' });
    expect(screen.queryByText('This reply was cut off.')).toBeNull();
  });

  it('shows the greeting and starters on an empty conversation; a starter sends itself', async () => {
    const { api } = setup(
      { 'POST /api/chat': () => sse([start(), delta('Sure'), end()]) },
      { config: { greeting: 'Hi! Ask me anything.', starters: ['How do I reset my password?'] } },
    );
    await open();
    expect(screen.getByText('Hi! Ask me anything.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'How do I reset my password?' }));
    await until(() => api.calls.length === 1, 'starter sent');
    expect(api.calls[0]?.body).toEqual({ message: 'How do I reset my password?' });
    await until(() => screen.queryByText('Hi! Ask me anything.') === null, 'greeting gone');
  });

  it('keeps the draft when the panel is closed and reopened', async () => {
    setup();
    await open();
    type('half a thought');
    fireEvent.click(screen.getByRole('button', { name: 'Close chat' }));
    await until(() => screen.queryByRole('dialog') === null, 'closed');
    await open();
    expect((screen.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement).value).toBe('half a thought');
  });

  it('shows a character counter near the 4000 limit', async () => {
    setup();
    await open();
    expect(screen.queryByText(/characters left/)).toBeNull();
    type('x'.repeat(3900));
    expect(screen.getByText('100 characters left')).toBeTruthy();
    expect(screen.getByRole('textbox', { name: 'Message' }).getAttribute('maxlength')).toBe('4000');
  });

  it('shows the Demo badge, the support link and the model picker when the config asks', async () => {
    const { api } = setup(
      { 'POST /api/chat': () => sse([start(), end()]) },
      {
        config: {
          demo: true,
          supportUrl: 'help@example.com',
          modelPicker: true,
          models: [{ id: 'fast', label: 'Fast' }, { id: 'smart', label: 'Smart' }],
        },
      },
    );
    const dialog = await open();
    expect(within(dialog).getByText('Demo')).toBeTruthy();
    expect(within(dialog).getByRole('link', { name: 'Contact support' }).getAttribute('href')).toBe('mailto:help@example.com');
    const picker = within(dialog).getByRole('combobox', { name: 'Model' }) as HTMLSelectElement;
    fireEvent.change(picker, { target: { value: 'smart' } });
    type('Q');
    press('Enter');
    await until(() => api.calls.length === 1, 'send');
    expect(api.calls[0]?.body).toEqual({ message: 'Q', model: 'smart' });
  });

  it('speaks Spanish, and Arabic right to left', async () => {
    setup({}, { lang: 'es' });
    fireEvent.click(screen.getByRole('button', { name: 'Abrir chat' }));
    expect(await screen.findByRole('textbox', { name: 'Mensaje' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Enviar' })).toBeTruthy();
    cleanup();
    setup({}, { lang: 'ar' });
    fireEvent.click(screen.getByRole('button', { name: 'فتح المحادثة' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog.getAttribute('dir')).toBe('rtl');
    expect(dialog.getAttribute('lang')).toBe('ar');
    expect(within(dialog).getByRole('button', { name: 'إرسال' })).toBeTruthy();
  });
});
