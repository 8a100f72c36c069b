import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SIGN_IN_FAILURES_PER_MINUTE } from '../inbox/sign-in-route.js';
import { inboxUsers, PASSWORD, startInboxServer } from '../test/inbox-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import type { TestServer } from '../test/test-server.js';
import { launchChromium } from './chromium.js';

const INBOX_PAGE = fileURLToPath(new URL('../../inbox-ui/dist/index.html', import.meta.url));

/**
 * Another site's pages, on 127.0.0.1 (another origin of the same site as the inbox: a browser
 * sends even a SameSite=Strict cookie along) and on localhost (another site altogether).
 */
async function startOtherSite(): Promise<{ port: number; set(path: string, html: string): void; close(): Promise<void> }> {
  const pages = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const html = pages.get(req.url ?? '');
    if (html === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    set: (path, html) => void pages.set(path, html),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A form that posts JSON-looking text as text/plain: the classic cross-site JSON request. */
const formPage = (action: string, json: string): string => {
  const cut = json.length - 2; // name = all but the closing `"}`, value = `"}`: the body is name=value
  return `<!doctype html><title>A page elsewhere</title><form id="f" method="post" enctype="text/plain" action="${action}"><input type="hidden" name='${json.slice(0, cut)}' value='${json.slice(cut)}'></form>`;
};

/** The `request done` lines of state-changing inbox requests the server answered since `from`. */
const refusals = (server: TestServer, from: number) =>
  server.logs
    .slice(from)
    .map((line) => JSON.parse(line) as { msg: string; method?: string; route?: string; status?: number })
    .filter((l) => l.msg === 'request done' && (l.method === 'POST' || l.method === 'DELETE') && (l.route ?? '').startsWith('/api/inbox'))
    .map((l) => `${l.method} ${l.status}`);

describe('the support inbox against other sites\' pages, in Chromium', () => {
  let upstream: MockUpstream;
  let other: Awaited<ReturnType<typeof startOtherSite>>;
  let server: TestServer;
  let browser: Browser;
  let lead: BrowserContext;
  let inbox: Page;
  let conversationId: string;
  let sameSiteOrigin: string;

  beforeAll(async () => {
    if (!existsSync(INBOX_PAGE)) throw new Error(`${INBOX_PAGE} is missing: build it first (pnpm test does).`);
    upstream = await startMockUpstream();
    other = await startOtherSite();
    sameSiteOrigin = `http://127.0.0.1:${other.port}`;
    // The other origin is even one the widget may be embedded on: its page may call the chat API.
    server = await startInboxServer({ upstream, users: await inboxUsers('lead', 'mallory'), env: { ALLOWED_ORIGINS: sameSiteOrigin, CHATDROP_RATE_LIMIT: '1000' } });
    upstream.script({ kind: 'deltas', deltas: ['Refunds take five days.'] });
    const start = (await readEvents(await postChat(server.url, { message: 'When will I get my refund?' }))).events[0]?.event;
    if (start?.type !== 'message-start') throw new Error('no message-start');
    conversationId = start.conversationId;

    browser = await launchChromium();
    lead = await browser.newContext();
    inbox = await lead.newPage();
    await inbox.goto(`${server.url}/inbox`);
    await inbox.getByLabel('User').fill('lead');
    await inbox.getByLabel('Password').fill(PASSWORD);
    await inbox.getByRole('button', { name: 'Sign in' }).click();
    await inbox.getByRole('link', { name: 'When will I get my refund?' }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await lead?.close().catch(() => {});
    await browser?.close();
    await server?.close();
    await other?.close();
    await upstream?.close();
  });

  it('refuses (403) every state-changing request a page on another origin makes, even with the cookie sent along, and nothing changes', async () => {
    const [session] = await lead.cookies(`${server.url}/api/inbox`);
    expect(session?.name).toBe('chatdrop-inbox');
    const logged = server.logs.length;
    const attacker = await lead.newPage();
    try {
      // 1. A form on the same site signs the lead's browser in as someone else (login CSRF).
      other.set('/sign-in', formPage(`${server.url}/api/inbox/session`, JSON.stringify({ user: 'mallory', password: PASSWORD, x: '' })));
      await attacker.goto(`${sameSiteOrigin}/sign-in`);
      const [posted] = await Promise.all([
        attacker.waitForResponse((r) => r.url() === `${server.url}/api/inbox/session` && r.request().method() === 'POST'),
        attacker.evaluate(() => (document.getElementById('f') as HTMLFormElement).submit()),
      ]);
      expect(posted.status()).toBe(403);
      // The browser did send the lead's session cookie: the Origin check alone refused it.
      expect((await posted.request().allHeaders()).cookie).toContain(`chatdrop-inbox=${session?.value}`);
      expect(await posted.text()).toContain('This request must come from the inbox page itself.');

      // 2. Scripts on that page: sign in as someone else, delete a conversation, sign the lead out.
      other.set('/script', '<!doctype html><title>A page elsewhere</title><p>hello</p>');
      await attacker.goto(`${sameSiteOrigin}/script`);
      const outcomes = await attacker.evaluate(
        async ({ api, id, password }) => {
          const attempt = async (path: string, init: RequestInit): Promise<string> => {
            try {
              const response = await fetch(api + path, init);
              return response.type === 'opaque' ? 'opaque' : String(response.status);
            } catch {
              return 'blocked by the browser';
            }
          };
          const json = { 'Content-Type': 'application/json' };
          return {
            signInAsOther: await attempt('/api/inbox/session', { method: 'POST', headers: json, body: JSON.stringify({ user: 'mallory', password }) }),
            signInNoCors: await attempt('/api/inbox/session', { method: 'POST', mode: 'no-cors', credentials: 'include', body: JSON.stringify({ user: 'mallory', password }) }),
            deleteWithoutCookie: await attempt(`/api/inbox/conversations/${id}`, { method: 'DELETE' }),
            deleteWithCookie: await attempt(`/api/inbox/conversations/${id}`, { method: 'DELETE', credentials: 'include' }),
            signOutWithCookie: await attempt('/api/inbox/session', { method: 'DELETE', credentials: 'include' }),
          };
        },
        { api: server.url, id: conversationId, password: PASSWORD },
      );
      // The page learns nothing: the inbox API answers no CORS preflight (so nothing with a JSON body
      // or a DELETE is even sent), and what a no-cors request gets back it may not read.
      for (const outcome of Object.values(outcomes)) expect(['blocked by the browser', 'opaque']).toContain(outcome);

      // 3. A page on another site altogether: its form gets no cookie (SameSite=Strict) and a 403.
      other.set('/elsewhere', formPage(`${server.url}/api/inbox/session`, JSON.stringify({ user: 'mallory', password: PASSWORD, x: '' })));
      await attacker.goto(`http://localhost:${other.port}/elsewhere`);
      const [crossSite] = await Promise.all([
        attacker.waitForResponse((r) => r.url() === `${server.url}/api/inbox/session` && r.request().method() === 'POST'),
        attacker.evaluate(() => (document.getElementById('f') as HTMLFormElement).submit()),
      ]);
      expect(crossSite.status()).toBe(403);
      expect((await crossSite.request().allHeaders()).cookie ?? '').not.toContain('chatdrop-inbox');
    } finally {
      await attacker.close();
    }

    // What reached the server (the two forms and the no-cors POST) was refused; no DELETE got there.
    await expect.poll(() => refusals(server, logged)).toEqual(['POST 403', 'POST 403', 'POST 403']);
    // Nothing changed: no sign-in, no sign-out, no deletion; the lead's session is the same one.
    const said = server.logs.slice(logged).join('\n');
    expect(said).not.toContain('"msg":"inbox sign-in"');
    expect(said).not.toContain('inbox conversation deleted');
    expect(await lead.cookies(`${server.url}/api/inbox`)).toEqual([session]);
    await inbox.reload();
    await inbox.getByRole('link', { name: 'When will I get my refund?' }).waitFor();
    expect(await inbox.evaluate(async () => (await (await fetch('/api/inbox/session')).json()) as unknown)).toMatchObject({ user: 'lead' });
    expect((await fetch(`${server.url}/api/conversations/${conversationId}`)).status).toBe(200);
  }, 60_000);

  it(`limits the sign-in form after ${SIGN_IN_FAILURES_PER_MINUTE} wrong passwords in a row, with a clear message`, async () => {
    expect(SIGN_IN_FAILURES_PER_MINUTE).toBe(10);
    const guesser = await browser.newContext();
    try {
      const page = await guesser.newPage();
      await page.goto(`${server.url}/inbox`);
      await page.getByLabel('User').fill('lead');
      const attempt = async (password: string): Promise<{ status: number; alert: string }> => {
        await page.getByLabel('Password').fill(password);
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.url() === `${server.url}/api/inbox/session` && r.request().method() === 'POST'),
          page.getByRole('button', { name: 'Sign in' }).click(),
        ]);
        await expect.poll(() => page.getByRole('alert').textContent()).not.toBe('');
        return { status: response.status(), alert: (await page.getByRole('alert').textContent()) ?? '' };
      };
      for (let i = 1; i <= SIGN_IN_FAILURES_PER_MINUTE; i++) {
        expect(await attempt(`wrong guess number ${i}`)).toEqual({ status: 401, alert: 'That user name and password do not match.' });
      }
      const limited = { status: 429, alert: 'Too many failed sign-ins. Please wait a minute and try again.' };
      expect(await attempt('wrong guess number 11')).toEqual(limited);
      // Refused before any hashing, even with the right password, until the minute is over.
      expect(await attempt(PASSWORD)).toEqual(limited);
      expect(await page.getByRole('heading', { name: 'Conversations' }).count()).toBe(0);
      expect(await guesser.cookies(`${server.url}/api/inbox`)).toEqual([]);
      expect(server.logs.filter((line) => line.includes('inbox sign-in refused: too many failed attempts')).length).toBeGreaterThanOrEqual(2);
    } finally {
      await guesser.close();
    }
  }, 60_000);
});
