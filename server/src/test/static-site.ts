import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the site answers for one path; a function is asked per request. */
export interface SitePageAnswer {
  status?: number;
  type?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Headers and the start of a body, then silence with the connection open. */
  hang?: boolean;
  /** Answers only once this settles: a page held for as long as the test needs. */
  until?: Promise<unknown>;
}
export type SitePage = SitePageAnswer | ((request: SiteRequest) => SitePageAnswer | undefined);

export interface SiteRequest {
  path: string;
  headers: IncomingHttpHeaders;
  at: number;
}

export interface StaticSite {
  origin: string;
  /** Replaces or adds pages (a site that changes between crawls). */
  set(path: string, page: SitePage | undefined): void;
  requests: SiteRequest[];
  close(): Promise<void>;
}

/**
 * A small website on 127.0.0.1:0 for the crawler's tests: fixed answers per path (status, type,
 * body, headers, a delay, or no answer at all), 404 for anything else, and every request recorded
 * with its headers and time.
 */
export async function startStaticSite(pages: Record<string, SitePage>): Promise<StaticSite> {
  const table = new Map(Object.entries(pages));
  const requests: SiteRequest[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const request: SiteRequest = { path, headers: req.headers, at: Date.now() };
    requests.push(request);
    const page = table.get(path);
    const answer: SitePageAnswer | undefined = typeof page === 'function' ? page(request) : page;
    if (answer === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    void respond(res, answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    set(path, page) {
      if (page === undefined) table.delete(path);
      else table.set(path, page);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function respond(res: ServerResponse, answer: SitePageAnswer): Promise<void> {
  if (answer.hang === true) {
    res.writeHead(200, { 'content-type': answer.type ?? 'text/html' });
    res.write('<html><body><p>The beginning of a page that never ends');
    return;
  }
  if (answer.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
  if (answer.until !== undefined) await answer.until.catch(() => undefined);
  if (res.destroyed) return;
  res.writeHead(answer.status ?? 200, { 'content-type': answer.type ?? 'text/html; charset=utf-8', ...answer.headers });
  res.end(answer.body ?? '');
}

/** A help article as a real site serves it: navigation, header and footer around the text. */
export function articlePage(title: string, sections: Record<string, string>, extra = ''): string {
  const body = Object.entries(sections)
    .map(([heading, text]) => `<h2>${heading}</h2>\n<p>${text}</p>`)
    .join('\n');
  return `<!doctype html><html><head><title>${title} – Example Help</title>${extra}</head><body>
<header><a href="/">Example</a><nav><a href="/pricing">Pricing</a> <a href="/blog">Blog</a> <a href="/login">Sign in</a></nav></header>
<main><article><h1>${title}</h1>
${body}
</article></main>
<footer><p>Copyright Example Inc. Terms. Privacy. Careers at Example. Follow us on social media.</p></footer>
</body></html>`;
}
