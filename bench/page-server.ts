import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { widgetBundlePath } from './widget-weight.js';

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the benchmark pages (`/<name>.html`, from `pages`) and the scripts they load: the real
 * `widget.js` and an empty script for the baseline, with the same headers, so the two differ only
 * in what they run. The pages run on another origin than the API, as on a real site.
 */
export async function startPageServer(pages: Record<string, string>): Promise<PageServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const script = (body: Buffer | string) =>
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(body);
    if (path === '/widget.js') {
      readFile(widgetBundlePath).then(script, () => res.writeHead(404).end());
    } else if (path === '/empty.js') {
      script('');
    } else if (path.endsWith('.html') && pages[path.slice(1, -5)] !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(pages[path.slice(1, -5)]);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
