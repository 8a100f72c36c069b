import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HostPageOptions {
  /** Sent as the page's Content-Security-Policy header. */
  csp?: string;
  /** Extra markup for `<head>` (served from this origin: stylesheets go through `/page.css`). */
  css?: string;
  /** Attributes for the widget's script tag, besides `src` and `async`. */
  attributes?: Record<string, string>;
  lang?: string;
  body?: string;
  /** Markup placed just before the widget's script tag (an inline queue stub, say). */
  beforeScript?: string;
  /** Where the page loads the widget from. */
  widgetUrl?: string;
}

export interface HostPage {
  url: string;
  /**
   * Every CSP violation report the browser sent to `/csp-report` (a policy with
   * `report-uri /csp-report`): one line each, `directive blocked-uri`. Unlike a listener the test
   * adds after load, reports also cover what the page met while loading, in every engine.
   */
  cspReports: string[];
  /** Changes what the next page load serves. */
  set(options: HostPageOptions): void;
  close(): Promise<void>;
}

const escapeAttribute = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** `directive blocked-uri` from a `report-uri` body (`{"csp-report": {...}}`, CSP Level 2 §7). */
function describeCspReport(body: string): string {
  try {
    const report = (JSON.parse(body) as { 'csp-report'?: Record<string, unknown> })['csp-report'] ?? {};
    return `${String(report['effective-directive'] ?? report['violated-directive'])} ${String(report['blocked-uri'])}`;
  } catch {
    return `unreadable report: ${body.slice(0, 200)}`;
  }
}

/**
 * A site owner's page on a different origin from the Chatdrop server: it only pastes the
 * script tag. Its CSS comes from a file on its own origin so that a strict `style-src 'self'`
 * page can still have (hostile) styles.
 */
export async function startHostPage(initial: HostPageOptions = {}): Promise<HostPage> {
  let options = initial;
  const cspReports: string[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/csp-report') {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        cspReports.push(describeCspReport(Buffer.concat(parts).toString('utf8')));
        res.writeHead(204).end();
      });
      return;
    }
    if (req.url === '/page.css') {
      res.writeHead(200, { 'Content-Type': 'text/css' });
      res.end(options.css ?? '');
      return;
    }
    if (req.url === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    const attributes = Object.entries(options.attributes ?? {})
      .map(([name, value]) => ` ${name}="${escapeAttribute(value)}"`)
      .join('');
    const headers: Record<string, string> = { 'Content-Type': 'text/html; charset=utf-8' };
    if (options.csp) headers['Content-Security-Policy'] = options.csp;
    res.writeHead(200, headers);
    res.end(`<!doctype html>
<html lang="${options.lang ?? 'en'}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Host page</title><link rel="stylesheet" href="/page.css"></head>
<body>${options.body ?? '<main><h1>A site owner\'s page</h1><p>Some content.</p></main>'}
${options.beforeScript ?? ''}
<script src="${options.widgetUrl ?? ''}" async${attributes}></script>
</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // `localhost` and `127.0.0.1` are different origins: the page is cross-origin to the API.
    url: `http://localhost:${port}/`,
    cspReports,
    set(next) {
      options = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
