import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Marked } from 'marked';
import type { Plugin } from 'vite';

/** One help article: `help/<slug>.md`, with a `title:` in its front matter. */
export interface Article {
  slug: string;
  title: string;
  /** The article's body as markdown, front matter removed. */
  markdown: string;
}

const HELP_DIR = new URL('./help/', import.meta.url);

export function readArticles(dir: URL | string = HELP_DIR): Article[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => {
      const text = readFileSync(new URL(name, dir instanceof URL ? dir : `file://${dir}/`), 'utf8');
      const front = /^---\n([\s\S]*?)\n---\n/.exec(text);
      const title = /^title:\s*(.+)$/m.exec(front?.[1] ?? '')?.[1]?.trim() ?? name;
      return { slug: name.replace(/\.md$/, ''), title, markdown: text.slice(front?.[0].length ?? 0) };
    });
}

/**
 * The demo help centre as a real site has it (Vite plugin, build only): each `help/*.md` becomes
 * `dist/help/<slug>.html`, a full page with the site's header, navigation and footer around the
 * article (what the knowledge crawler's Readability has to see through), `dist/help/index.html`
 * lists them (`noindex, follow`: a listing is no answer), `dist/sitemap.xml` names every article
 * and `dist/robots.txt` points at it. Every page embeds the widget, like the home page.
 *
 * A sitemap needs absolute URLs, so the origin is read at build time: `CHATDROP_PUBLIC_URL`, or
 * `http://localhost:$PORT` (8787 by default), which is what `pnpm start` serves.
 */
export function helpCentre(): Plugin {
  return {
    name: 'chatdrop-help-centre',
    apply: 'build',
    generateBundle(_options, bundle) {
      const css = Object.values(bundle).find((file) => file.type === 'asset' && file.fileName.endsWith('.css'));
      const stylesheet = css === undefined ? '' : `/${css.fileName}`;
      const origin = (process.env.CHATDROP_PUBLIC_URL?.trim() || `http://localhost:${process.env.PORT?.trim() || '8787'}`).replace(/\/+$/, '');
      const articles = readArticles();
      const marked = new Marked({ gfm: true });
      for (const article of articles) {
        this.emitFile({
          type: 'asset',
          fileName: `help/${article.slug}.html`,
          source: page({ title: article.title, stylesheet, body: `<article class="article">\n${marked.parse(article.markdown) as string}\n</article>` }),
        });
      }
      const list = articles.map((a) => `<li><a href="/help/${a.slug}.html">${escapeHtml(a.title)}</a></li>`).join('\n');
      this.emitFile({
        type: 'asset',
        fileName: 'help/index.html',
        source: page({
          title: 'All articles',
          stylesheet,
          robots: 'noindex, follow',
          body: `<article class="article"><h1>All articles</h1>\n<ul class="article-list">\n${list}\n</ul></article>`,
        }),
      });
      const urls = articles.map((a) => `  <url><loc>${origin}/help/${a.slug}.html</loc></url>`).join('\n');
      this.emitFile({
        type: 'asset',
        fileName: 'sitemap.xml',
        source: `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls}\n</urlset>\n`,
      });
      this.emitFile({ type: 'asset', fileName: 'robots.txt', source: `User-agent: *\nAllow: /\n\nSitemap: ${origin}/sitemap.xml\n` });
    },
  };
}

function page(parts: { title: string; stylesheet: string; body: string; robots?: string }): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${escapeHtml(parts.title)} – Acme Cloud Help Center</title>
${parts.robots === undefined ? '' : `    <meta name="robots" content="${parts.robots}" />\n`}    <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
    <link rel="stylesheet" href="${parts.stylesheet}" />
  </head>
  <body>
    <a class="skip-link" href="#main">Skip to content</a>
    <header class="site-header">
      <div class="wrap header-row">
        <a class="brand" href="/"><span class="brand-mark" aria-hidden="true">A</span> Acme Cloud <span class="brand-sub">Help Center</span></a>
        <nav aria-label="Main">
          <ul class="nav">
            <li><a href="/help/">All articles</a></li>
            <li><a href="/#faq">FAQ</a></li>
            <li><a href="/#embed">Add the chat to your site</a></li>
            <li><a href="/#contact">Contact</a></li>
          </ul>
        </nav>
      </div>
    </header>
    <main id="main" class="wrap section">
      <p class="breadcrumb"><a href="/">Help Center</a> › <a href="/help/">Articles</a></p>
${parts.body}
      <aside class="article-help" aria-label="More help">
        <p>Was this article helpful? Ask the assistant in the corner, or write to <a href="mailto:support@acme.example">support@acme.example</a>.</p>
      </aside>
    </main>
    <footer class="site-footer">
      <div class="wrap">© Acme Cloud, Inc. · This is a demo help centre for Chatdrop; Acme Cloud is fictional.</div>
    </footer>
    <script src="/widget.js" async data-title="Acme Help" data-color="#0f766e"></script>
  </body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
