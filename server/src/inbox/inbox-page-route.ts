import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';

/**
 * The inbox page's own Content Security Policy, stricter than the demo page's: scripts, styles,
 * fetches and images from this origin only, nothing inline, no plugins, no framing, no `<base>`;
 * and Trusted Types required, so even a bug that reached for `innerHTML` would throw instead of
 * running a visitor's markup. The inbox shows visitors' words; this is the second wall behind
 * rendering them as text.
 */
export const INBOX_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/**
 * `GET /inbox` (the page) and `/inbox/assets/*` (its hashed script and stylesheet), from the
 * inbox UI's build (`server/inbox-ui/dist`). The page itself holds nothing private: everything
 * comes from `/api/inbox` after sign-in. Mounted only when `CHATDROP_INBOX_USERS` is set.
 */
export function inboxPageRouter(options: { dir: string }): Router {
  const router = Router();
  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', INBOX_CSP);
    next();
  });
  router.use(
    '/assets',
    express.static(join(options.dir, 'assets'), { immutable: true, maxAge: '365d', index: false }),
    (_req, res) => void res.status(404).type('text/plain').send('Not found.\n'),
  );
  router.get('/', (req, res) => {
    // `/inbox` and `/inbox/` alike; the page's state lives in its query string.
    const page = join(options.dir, 'index.html');
    if (!existsSync(page)) {
      res.status(503).type('text/plain').send('The inbox page is not built yet: run `pnpm build`.\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(page);
  });
  return router;
}
