import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import express, { Router, type Request } from 'express';
import { strictRouter } from './strict-router.js';

export interface WidgetRouteOptions {
  /** The built bundle, `widget/dist/widget.js`. */
  widgetFile: string;
  /** The built demo page, `demo/dist`; its `index.html` is served at `/`. */
  demoDir: string;
}

interface Bundle {
  mtimeMs: number;
  size: number;
  body: Buffer;
  etag: string;
}

/**
 * `GET /widget.js`, the demo page at `/`, and `GET /healthz`.
 *
 * widget.js is loaded by `<script>` tags on other sites, so it carries
 * `Cross-Origin-Resource-Policy: cross-origin` (helmet's `same-origin` would block it there).
 * It is cached briefly and revalidated by ETag: a new deploy reaches every site within five
 * minutes, and a revalidation costs a 304. The file is re-read when it changes on disk, so a
 * rebuild (`pnpm dev`) is served without a restart.
 */
export function widgetRouter(options: WidgetRouteOptions): Router {
  const router = strictRouter();
  let cached: Bundle | undefined;

  const load = async (): Promise<Bundle | undefined> => {
    let info;
    try {
      info = await stat(options.widgetFile);
    } catch {
      return undefined;
    }
    if (cached?.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    const body = await readFile(options.widgetFile);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    cached = { mtimeMs: info.mtimeMs, size: info.size, body, etag };
    return cached;
  };

  router.get('/widget.js', async (req, res) => {
    const bundle = await load();
    if (bundle === undefined) {
      res.status(404).type('text/plain').send('widget.js is not built yet: run `pnpm build`.\n');
      return;
    }
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Cache-Control', 'public, max-age=300, must-revalidate');
    res.setHeader('ETag', bundle.etag);
    if (matchesEtag(req, bundle.etag)) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.send(bundle.body);
  });

  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });

  // The demo page; `index: 'index.html'` serves it at `/`. Checked per request so a demo built
  // after the server started still shows up.
  const demo = express.static(options.demoDir, { index: 'index.html', fallthrough: true });
  router.use((req, res, next) => {
    if (req.path === '/' && !existsSync(options.demoDir)) {
      res.type('text/plain').send('Chatdrop is running. The demo page is not built yet: run `pnpm build`.\n');
      return;
    }
    demo(req, res, next);
  });
  return router;
}

/** `If-None-Match` may list several tags, weak or strong; `*` matches any. */
function matchesEtag(req: Request, etag: string): boolean {
  const header = req.get('if-none-match');
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
