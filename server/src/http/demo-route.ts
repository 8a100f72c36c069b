import { existsSync } from 'node:fs';
import express, { type Router } from 'express';
import { strictRouter } from './strict-router.js';

export interface DemoRouteOptions {
  /** The built demo page, `demo/dist`; its `index.html` is served at `/`. */
  demoDir: string;
}

/** The demo page at `/` (and its assets), and `GET /healthz`. */
export function demoRouter(options: DemoRouteOptions): Router {
  const router = strictRouter();
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
