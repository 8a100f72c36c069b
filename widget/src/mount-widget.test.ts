import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatdropApi } from './chatdrop-api.js';
import { mountWidget } from './mount-widget.js';
import type { LoadPanel } from './panel-host.js';
import { createFakeApi, delta, end, gate, json, sse, start, until } from './test/fake-api.js';

/** The real panel and strings modules, as the built loader imports their chunks; counts the loads. */
const loads: string[] = [];
const load: LoadPanel = async (lang) => {
  loads.push(lang);
  const strings = lang === 'es' ? import('./strings-es.js') : lang === 'ar' ? import('./strings-ar.js') : undefined;
  return [await import('./mount-panel.js'), (await strings)?.default];
};

type Holder = { Chatdrop?: unknown };
const holder = window as unknown as Holder;

function script(attrs: Record<string, string> = {}) {
  const el = document.createElement('script');
  el.src = 'https://chat.example.com/widget.js';
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

const routes = {
  'GET /api/config': () =>
    json(200, { title: 'Acme help', greeting: 'Hello from config', starters: [], models: [{ id: 'fast', label: 'Fast' }], demo: true }),
  'POST /api/chat': () => sse([start('c1', 'a1'), delta('Reply'), end()]),
};

let mounted: ChatdropApi | undefined;
afterEach(() => {
  loads.length = 0;
  mounted?.destroy();
  mounted = undefined;
  delete holder.Chatdrop;
  localStorage.clear();
  document.documentElement.lang = '';
});

const shadow = () => document.querySelector('chatdrop-widget')!.shadowRoot!;
const q = (selector: string) => shadow().querySelector<HTMLElement>(selector);
const launcher = () => q('.launcher')!;

describe('mountWidget', () => {
  it('adds exactly one <chatdrop-widget> with an open shadow root, styled by one adopted sheet', () => {
    const before = document.body.children.length;
    const api = createFakeApi(routes);
    mounted = mountWidget(script(), load, api.fetch);
    expect(document.body.children.length).toBe(before + 1);
    expect(document.querySelectorAll('chatdrop-widget')).toHaveLength(1);
    const root = shadow();
    expect(root.mode).toBe('open');
    expect(root.adoptedStyleSheets).toHaveLength(1); // the loader's; the panel adds its own
    expect(root.querySelector('style')).toBeNull();
    expect(root.querySelector('[style]')).toBeNull();
    expect(launcher().getAttribute('aria-label')).toBe('Open chat');
    expect(holder.Chatdrop).toBe(mounted);
  });

  it("uses the script's origin for the API, data-api when given, and attributes over /api/config", async () => {
    const api = createFakeApi(routes, 'https://api.example.org');
    mounted = mountWidget(script({ 'data-api': 'https://api.example.org/', 'data-title': 'Ask us', 'data-position': 'left', 'data-theme': 'dark', 'data-color': '#fde047' }), load, api.fetch);
    const host = document.querySelector('chatdrop-widget') as HTMLElement;
    expect(host.getAttribute('data-position')).toBe('left');
    expect(host.getAttribute('data-theme')).toBe('dark');
    expect(host.style.getPropertyValue('--cd-accent')).toBe('#fde047');
    expect(host.style.getPropertyValue('--cd-on-accent')).toBe('#000'); // yellow needs dark text
    mounted.open();
    await until(() => api.calls.some((c) => c.path === '/api/config'), 'config fetch');
    await until(() => q('.badge')?.textContent === 'Demo', 'config applied');
    expect(q('h2')?.textContent).toBe('Ask us'); // data-title wins over the config's title
    expect(shadow().textContent).toContain('Hello from config');
  });

  it('takes the greeting and starter questions from data-greeting and data-starters', async () => {
    const api = createFakeApi(routes);
    mounted = mountWidget(script({ 'data-greeting': 'Ask the billing team', 'data-starters': 'Where is my invoice? | Change my plan|' }), load, api.fetch);
    mounted.open();
    await until(() => shadow().textContent!.includes('Ask the billing team'), 'greeting');
    const starters = [...shadow().querySelectorAll('button')].map((b) => b.textContent).filter((t) => t === 'Where is my invoice?' || t === 'Change my plan');
    expect(starters).toEqual(['Where is my invoice?', 'Change my plan']);
    expect(shadow().textContent).not.toContain('Hello from config');
  });

  it('window.Chatdrop opens, closes, toggles, sends and reports events', async () => {
    const api = createFakeApi(routes);
    mounted = mountWidget(script(), load, api.fetch);
    const seen: string[] = [];
    const off = mounted.on('open', () => seen.push('open'));
    mounted.on('close', () => seen.push('close'));
    mounted.on('message', (m) => seen.push(`message:${(m as { role: string }).role}`));
    mounted.open();
    await until(() => !!q('[role=dialog]'), 'open');
    mounted.toggle();
    await until(() => !q('[role=dialog]'), 'closed');
    off();
    mounted.send('From the page');
    await until(() => seen.includes('message:assistant'), 'reply');
    expect(seen).toEqual(['open', 'close', 'message:user', 'message:assistant']);
    // The host page's address goes along (origin and path), for the team's inbox.
    expect(api.calls.find((c) => c.path === '/api/chat')?.body).toEqual({ message: 'From the page', page: location.origin + location.pathname });
  });

  it('replays calls queued by the stub before the script loaded', async () => {
    const api = createFakeApi(routes);
    // The README's stub, verbatim in spirit: each method pushes [name, args] onto q.
    const stub: { q: unknown[][]; [k: string]: unknown } = { q: [] };
    for (const m of ['open', 'close', 'toggle', 'send', 'reset', 'destroy', 'on']) {
      stub[m] = (...args: unknown[]) => stub.q.push([m, args]);
    }
    holder.Chatdrop = stub;
    const events: unknown[] = [];
    (stub.on as (e: string, h: (d: unknown) => void) => void)('message', (d) => events.push(d));
    (stub.send as (t: string) => void)('Queued question');
    mounted = mountWidget(script(), load, api.fetch);
    expect(holder.Chatdrop).toBe(mounted);
    await until(() => events.length === 2, 'queued send answered');
    expect(events[0]).toEqual({ role: 'user', content: 'Queued question', status: 'complete' });
    expect(q('[role=dialog]')).toBeTruthy();
  });

  it('shows an unread dot when a reply finishes while the panel is closed', async () => {
    const hold = gate();
    const api = createFakeApi({ 'POST /api/chat': () => sse([start(), delta('Reply')], { hold: hold.promise, after: [end()] }) });
    mounted = mountWidget(script(), load, api.fetch);
    mounted.send('Hi');
    await until(() => !!q('[role=dialog]'), 'opened by send');
    mounted.close();
    expect(q('.dot')).toBeNull();
    hold.open();
    await until(() => !!q('.dot'), 'unread dot');
    mounted.open();
    await until(() => !q('.dot'), 'dot cleared');
  });

  it('restores the stored conversation for this API origin when opened', async () => {
    localStorage.setItem('chatdrop:https://chat.example.com', 'c7');
    const api = createFakeApi({
      ...routes,
      'GET /api/conversations/:id': (req) =>
        json(200, { id: req.params[0], messages: [{ id: 'u', role: 'user', content: 'Earlier question', createdAt: 'x', status: 'complete' }] }),
    });
    mounted = mountWidget(script(), load, api.fetch);
    mounted.open();
    await until(() => shadow().textContent?.includes('Earlier question') ?? false, 'restored');
  });

  it('refreshes when another tab ends a reply (storage event)', async () => {
    localStorage.setItem('chatdrop:https://chat.example.com', 'c7');
    let content = 'First';
    const api = createFakeApi({
      ...routes,
      'GET /api/conversations/:id': () => json(200, { id: 'c7', messages: [{ id: 'u', role: 'user', content, createdAt: 'x', status: 'complete' }] }),
    });
    mounted = mountWidget(script(), load, api.fetch);
    mounted.open();
    await until(() => shadow().textContent?.includes('First') ?? false, 'restored');
    content = 'Second';
    window.dispatchEvent(new StorageEvent('storage', { key: 'chatdrop:https://chat.example.com:rev', newValue: '2' }));
    await until(() => shadow().textContent?.includes('Second') ?? false, 'refreshed');
  });

  it('destroy removes the element, the global and every listener it added', async () => {
    // Every target outside the shadow root the widget may listen on.
    const targets: EventTarget[] = [window, document, window.matchMedia('(max-width: 1px)')];
    const added: [string, AddEventListenerOptions | boolean | undefined][] = [];
    const spies = targets.map((target) => {
      const original = target.addEventListener.bind(target);
      return vi.spyOn(target, 'addEventListener').mockImplementation((type, listener, options) => {
        added.push([type, options]);
        original(type, listener, options);
      });
    });
    const matchMedia = vi.spyOn(window, 'matchMedia').mockReturnValue(targets[2] as MediaQueryList);
    const api = createFakeApi(routes);
    let api2: ChatdropApi;
    try {
      api2 = mountWidget(script(), load, api.fetch);
      api2.open(); // the panel's listeners too
      await until(() => !!q('[role=dialog]'), 'panel open');
    } finally {
      for (const spy of spies) spy.mockRestore();
      matchMedia.mockRestore();
    }
    expect(added.map(([type]) => type)).toEqual(expect.arrayContaining(['storage', 'change']));
    const signals = added.map(([, o]) => (typeof o === 'object' ? o.signal : undefined));
    expect(signals.every((s) => s instanceof AbortSignal)).toBe(true);
    api2.destroy();
    expect(signals.every((s) => s?.aborted)).toBe(true);
    expect(document.querySelector('chatdrop-widget')).toBeNull();
    expect('Chatdrop' in window).toBe(false);
    // A storage event after destroy reaches nothing: no request goes out.
    const before = api.calls.length;
    window.dispatchEvent(new StorageEvent('storage', { key: 'chatdrop:https://chat.example.com:rev', newValue: '3' }));
    await new Promise((r) => setTimeout(r, 20));
    expect(api.calls.length).toBe(before);
    expect(document.documentElement.style.overflow).toBe('');
  });

  it('a reload in the middle of an answer shows the whole answer as it finishes (issue 6)', async () => {
    localStorage.setItem('chatdrop:https://chat.example.com', 'c7');
    const hold = gate();
    const api = createFakeApi({
      ...routes,
      'GET /api/conversations/:id': () =>
        json(200, {
          id: 'c7',
          messages: [
            { id: 'u', role: 'user', content: 'Question', createdAt: 'x', status: 'complete' },
            { id: 'a', role: 'assistant', content: 'Half an', createdAt: 'y', status: 'incomplete' },
          ],
        }),
      'GET /api/chat/:id/stream': (req) =>
        sse([start('c7', 'a'), delta('Half an'), delta(' answer')], { signal: req.signal, hold: hold.promise, after: [delta(', whole.'), end()] }),
    });
    mounted = mountWidget(script(), load, api.fetch);
    mounted.open();
    await until(() => shadow().textContent?.includes('Half an answer') ?? false, 'replayed');
    expect(q('button.stop')).toBeTruthy();
    hold.open();
    await until(() => shadow().textContent?.includes('Half an answer, whole.') ?? false, 'finished');
    await until(() => !q('button.stop'), 'idle');
    expect(api.calls.find((c) => c.path === '/api/chat/a/stream')?.lastEventId).toBe('0');
  });

  it('destroy during a resume wait sends nothing more, even when the browser comes back online', async () => {
    const api = createFakeApi({
      ...routes,
      'POST /api/chat': () => sse([start('c1', 'a1'), delta('Cut')], { fail: true }),
      'POST /api/chat/:id/stop': () => new Response(null, { status: 204 }),
    });
    mounted = mountWidget(script(), load, api.fetch);
    mounted.send('Hi');
    await until(() => shadow().textContent?.includes('Cut') ?? false, 'first delta');
    await new Promise((r) => setTimeout(r, 20)); // the stream has broken; the resume waits
    mounted.destroy();
    const before = api.calls.length;
    window.dispatchEvent(new Event('online'));
    await new Promise((r) => setTimeout(r, 20));
    expect(api.calls.slice(before)).toEqual([]);
    expect(api.calls.map((c) => c.path)).not.toContain('/api/chat/a1/stream');
    expect(api.calls.map((c) => c.path)).toContain('/api/chat/a1/stop');
  });

  it('picks the language from <html lang> when data-lang is absent', () => {
    document.documentElement.lang = 'es-MX';
    mounted = mountWidget(script(), load, createFakeApi(routes).fetch);
    expect(launcher().getAttribute('aria-label')).toBe('Abrir chat');
  });
});

describe('the loader', () => {
  /** happy-dom has no requestIdleCallback: this one runs its callbacks when `settle` says the page is idle. */
  const idleCallbacks: (() => void)[] = [];
  const idleWindow = window as unknown as { requestIdleCallback?: (run: () => void) => number };
  beforeEach(() => {
    idleWindow.requestIdleCallback = (run) => idleCallbacks.push(run);
  });
  afterEach(() => {
    delete idleWindow.requestIdleCallback;
    idleCallbacks.length = 0;
  });

  /** The page has loaded, every pending task has run, and the browser has been idle: nothing is left to do. */
  const settle = async () => {
    if (document.readyState !== 'complete') await new Promise((r) => window.addEventListener('load', r, { once: true }));
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
    for (const run of idleCallbacks.splice(0)) run();
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  };

  it('draws the launcher at once and loads nothing, not even /api/config, while the visitor shows no intent', async () => {
    const api = createFakeApi(routes);
    mounted = mountWidget(script(), load, api.fetch);
    expect(launcher().getAttribute('aria-label')).toBe('Open chat');
    expect(launcher().getAttribute('aria-expanded')).toBe('false');
    await settle();
    expect(loads).toEqual([]);
    expect(api.calls).toEqual([]);
    // Listening, closing, resetting and leaving are not intent either.
    mounted.on('open', () => {});
    mounted.close();
    mounted.reset();
    await settle();
    expect(loads).toEqual([]);
  });

  for (const type of ['pointerenter', 'focus', 'touchstart']) {
    it(`loads the panel on ${type} over the launcher, closed, so that the click opens it at once`, async () => {
      const api = createFakeApi(routes);
      mounted = mountWidget(script(), load, api.fetch);
      launcher().dispatchEvent(new Event(type));
      launcher().dispatchEvent(new Event(type)); // once is enough
      expect(loads).toEqual(['en']);
      // Mounted closed: it fetches the config, shows nothing yet.
      await until(() => api.calls.some((c) => c.path === '/api/config'), 'config fetched');
      expect(q('[role=dialog]')).toBeNull();
      launcher().click();
      // Preact renders on its next tick; there is no chunk to wait for (bench: "panel open, warm").
      await until(() => !!q('[role=dialog]'), 'opened');
      expect(launcher().getAttribute('aria-label')).toBe('Close chat');
      expect(launcher().getAttribute('aria-expanded')).toBe('true');
      expect(loads).toEqual(['en']);
    });
  }

  it('a click with no intent before loads the panel and opens it when it arrives', async () => {
    mounted = mountWidget(script(), load, createFakeApi(routes).fetch);
    launcher().click();
    await until(() => !!q('[role=dialog]'), 'opened');
    expect(loads).toEqual(['en']);
  });

  it('loads the panel for open(), toggle() and send()', async () => {
    for (const call of [(a: ChatdropApi) => a.open(), (a: ChatdropApi) => a.toggle(), (a: ChatdropApi) => a.send('Hi')]) {
      const api = createFakeApi(routes);
      mounted = mountWidget(script(), load, api.fetch);
      call(mounted);
      await until(() => !!q('[role=dialog]'), 'opened');
      mounted.destroy();
    }
    expect(loads).toEqual(['en', 'en', 'en']);
  });

  it('loads and opens the panel for data-open', async () => {
    mounted = mountWidget(script({ 'data-open': '' }), load, createFakeApi(routes).fetch);
    await until(() => !!q('[role=dialog]'), 'opened');
    expect(loads).toEqual(['en']);
  });

  it('loads the panel closed when the last page left a reply running, and follows it to the unread dot', async () => {
    localStorage.setItem('chatdrop:https://chat.example.com', 'c7');
    localStorage.setItem('chatdrop:https://chat.example.com:run', '1');
    const api = createFakeApi({
      ...routes,
      'GET /api/conversations/:id': () =>
        json(200, { id: 'c7', messages: [{ id: 'u', role: 'user', content: 'Q', createdAt: 'x', status: 'complete' }, { id: 'a', role: 'assistant', content: 'Half', createdAt: 'y', status: 'incomplete' }] }),
      'GET /api/chat/:id/stream': (req) => sse([start('c7', 'a'), delta('Half'), delta(' and the rest.'), end()], { signal: req.signal }),
    });
    mounted = mountWidget(script(), load, api.fetch);
    expect(loads).toEqual([]); // the mark is read when the page is idle, off its first paint
    await settle();
    expect(loads).toEqual(['en']);
    await until(() => !!q('.dot'), 'unread dot');
    expect(q('[role=dialog]')).toBeNull();
    expect(localStorage.getItem('chatdrop:https://chat.example.com:run')).toBeNull();
  });

  it('keeps the run mark only while a reply streams, so a later page loads nothing', async () => {
    const hold = gate();
    const api = createFakeApi({ ...routes, 'POST /api/chat': (req) => sse([start(), delta('Reply')], { signal: req.signal, hold: hold.promise, after: [end()] }) });
    mounted = mountWidget(script(), load, api.fetch);
    mounted.send('Hi');
    await until(() => localStorage.getItem('chatdrop:https://chat.example.com:run') === '1', 'marked running');
    hold.open();
    await until(() => localStorage.getItem('chatdrop:https://chat.example.com:run') === null, 'mark cleared');
    mounted.destroy();
    loads.length = 0;
    mounted = mountWidget(script(), load, api.fetch);
    await settle();
    expect(loads).toEqual([]);
  });

  it('replays calls made while the panel loads, in order', async () => {
    const api = createFakeApi(routes);
    mounted = mountWidget(script(), load, api.fetch);
    const seen: string[] = [];
    mounted.on('open', () => seen.push('open'));
    mounted.on('close', () => seen.push('close'));
    mounted.open();
    mounted.close();
    mounted.toggle();
    expect(seen).toEqual([]);
    await until(() => !!q('[role=dialog]'), 'opened');
    expect(seen).toEqual(['open', 'close', 'open']);
    expect(loads).toEqual(['en']);
  });

  it('reset() before any intent forgets the stored conversation without loading the panel', async () => {
    localStorage.setItem('chatdrop:https://chat.example.com', 'c7');
    const api = createFakeApi(routes);
    mounted = mountWidget(script(), load, api.fetch);
    mounted.reset();
    expect(localStorage.getItem('chatdrop:https://chat.example.com')).toBeNull();
    expect(loads).toEqual([]);
  });

  it('destroy() while the panel is loading removes everything and mounts nothing', async () => {
    const arrived = gate();
    const api = createFakeApi(routes);
    const slow: LoadPanel = async (lang) => {
      const chunks = await load(lang);
      await arrived.promise;
      return chunks;
    };
    mounted = mountWidget(script(), slow, api.fetch);
    mounted.send('Hello?');
    mounted.destroy();
    expect(document.querySelector('chatdrop-widget')).toBeNull();
    expect('Chatdrop' in window).toBe(false);
    arrived.open();
    await settle();
    expect(api.calls).toEqual([]);
    expect(document.querySelector('chatdrop-widget')).toBeNull();
  });

  it('tries again on the next intent when the panel failed to load (offline)', async () => {
    let fail = true;
    const flaky: LoadPanel = (lang) => (fail ? Promise.reject(new TypeError('Failed to fetch dynamically imported module')) : load(lang));
    mounted = mountWidget(script(), flaky, createFakeApi(routes).fetch);
    launcher().dispatchEvent(new Event('pointerenter'));
    await settle();
    fail = false;
    launcher().click();
    await until(() => !!q('[role=dialog]'), 'opened on the second try');
  });

  it('loads the strings of the page\'s language beside the panel, and names the launcher in it at once', async () => {
    mounted = mountWidget(script({ 'data-lang': 'ar-EG' }), load, createFakeApi(routes).fetch);
    expect(launcher().getAttribute('aria-label')).toBe('فتح المحادثة');
    mounted.open();
    await until(() => !!q('[role=dialog]'), 'opened');
    expect(loads).toEqual(['ar']);
    expect(q('[role=dialog]')!.getAttribute('dir')).toBe('rtl');
    expect(q('button.send')!.textContent).toBe('إرسال');
  });
});
