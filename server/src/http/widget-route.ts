import type { Request, Router } from 'express';
import { pickCoding } from './accept-encoding.js';
import { strictRouter } from './strict-router.js';
import { widgetAssets } from './widget-assets.js';

export interface WidgetRouteOptions {
  /** The widget build, `widget/dist`: its `manifest.json` lists the files served. */
  widgetDir: string;
}

/** Long enough for a deploy to reach every site within minutes; each revalidation costs a 304. */
const ENTRY_CACHE = 'public, max-age=300, must-revalidate';
/** A content-hashed name never changes its bytes (RFC 8246 `immutable`: not even a reload revalidates). */
const HASHED_CACHE = 'public, max-age=31536000, immutable';
const CONTENT_ENCODING = { br: 'br', gzip: 'gzip' } as const;

/**
 * The widget's files: `GET /widget.js` and `GET /widget/<name>-<hash>.js`.
 *
 * The files are loaded by `<script>` tags and `import()` on other sites: they carry
 * `Cross-Origin-Resource-Policy: cross-origin` (helmet's `same-origin` would block them there) and
 * `Access-Control-Allow-Origin: *` (a module chunk is fetched in CORS mode; these are public
 * files and no credentials are involved). Each is sent in the coding the browser prefers of
 * brotli, gzip and none (`Vary: Accept-Encoding`), with a strong ETag of those bytes, and a 304
 * for a matching `If-None-Match`. `widget.js` is cached for five minutes and then revalidated; the
 * hashed chunks are cached for a year.
 *
 * Mounted before helmet (app.ts): a script needs none of the headers that protect a document
 * (CSP, frame options and the like apply to pages), and every page that embeds the widget would
 * download them with it, about 0.7 KB a view. The headers a script does need are set here.
 */
export function widgetRouter(options: WidgetRouteOptions): Router {
  const router = strictRouter();
  const assets = widgetAssets(options.widgetDir);

  router.use(async (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || (req.path !== '/widget.js' && !req.path.startsWith('/widget/'))) return next();
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const files = await assets();
    if (files === undefined) {
      res.status(404).setHeader('Cache-Control', 'no-store');
      res.type('text/plain').send('The widget is not built yet: run `pnpm build`.\n');
      return;
    }
    const asset = files.get(req.path);
    if (asset === undefined) {
      res.status(404).setHeader('Cache-Control', 'no-store');
      res.type('text/plain').send('Not found.\n');
      return;
    }
    const coding = pickCoding(req.get('accept-encoding'));
    const { body, etag } = asset.variants[coding];
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cache-Control', asset.immutable ? HASHED_CACHE : ENTRY_CACHE);
    res.setHeader('Vary', 'Accept-Encoding');
    res.setHeader('ETag', etag);
    if (matchesEtag(req, etag)) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    if (coding !== 'identity') res.setHeader('Content-Encoding', CONTENT_ENCODING[coding]);
    res.setHeader('Content-Length', body.length);
    res.end(req.method === 'HEAD' ? undefined : body);
  });

  return router;
}

/**
 * `If-None-Match` may list several tags, weak or strong (a cache holding several codings sends
 * each one's); it matches by weak comparison (RFC 9110 §13.1.2), so `W/"x"` matches `"x"`. `*`
 * matches any.
 */
function matchesEtag(req: Request, etag: string): boolean {
  const header = req.get('if-none-match');
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
