import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { widgetDistDir } from './widget-weight.js';

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the benchmark pages (`/<name>.html`, from `pages`) and the scripts they load: the real
 * widget build (`widget.js` and the chunks its manifest lists, which the loader imports from this
 * same origin) and an empty script for the baseline, with the same headers, so the two differ only
 * in what they run. The pages run on another origin than the API, as on a real site.
 */
export async function startPageServer(pages: Record<string, string>): Promise<PageServer> {
  const manifest = JSON.parse(await readFile(join(widgetDistDir, 'manifest.json'), 'utf8')) as { files: string[] };
  const widgetFiles = new Set(manifest.files.map((file) => `/${file}`));
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const script = (body: Buffer | string) =>
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(body);
    if (widgetFiles.has(path)) {
      readFile(join(widgetDistDir, path)).then(script, () => res.writeHead(404).end());
    } else if (path === '/empty.js') {
      script('');
    } else if (path === '/ping') {
      res.writeHead(204, { 'cache-control': 'no-store' }).end();
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
