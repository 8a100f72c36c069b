import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { chunk } from './chunk.js';
import type { FailureReason, IndexedPage } from './crawl.js';
import { hashPassages } from './crawl.js';
import { extractHtml, extractMarkdown, extractText, type ExtractedHtml, type ExtractedPage } from './extract.js';

export interface ReadFolderOptions {
  maxFiles: number;
  maxBytes: number;
  onFailure: (url: string, reason: FailureReason, detail: string) => void;
  /** How an HTML file is extracted (the crawl's `extractHtml`); unset, on this thread. */
  extractHtml?: (html: string, url: string) => Promise<ExtractedHtml>;
}

/**
 * A local folder of help pages. Each file gets the URL where the site serves it, under `baseUrl`:
 *
 * - `guide/billing.md` -> `<baseUrl>guide/billing` (markdown is published without its extension
 *   by most site generators: MkDocs, Docusaurus, Hugo's pretty URLs);
 * - `guide/billing.html` -> `<baseUrl>guide/billing.html` (HTML is served as the file it is);
 * - `index.md` / `index.html` -> the folder's own URL, `<baseUrl>guide/`;
 * - `.txt` files keep their name.
 *
 * Hidden files and folders and symbolic links are skipped (a link could lead out of the folder);
 * files are read in name order, so the same folder always gives the same pages.
 */
export async function readFolder(path: string, baseUrl: string, options: ReadFolderOptions): Promise<IndexedPage[]> {
  const files: string[] = [];
  await walk(path, files);
  files.sort();
  const pages: IndexedPage[] = [];
  for (const file of files) {
    const rel = relative(path, file).split(sep).join('/');
    const url = urlOf(rel, baseUrl);
    if (pages.length >= options.maxFiles) {
      options.onFailure(url, 'max-pages', 'past CHATDROP_KNOWLEDGE_MAX_PAGES');
      continue;
    }
    const info = await stat(file);
    if (info.size > options.maxBytes) {
      options.onFailure(url, 'too-large', `${info.size} bytes, limit ${options.maxBytes}`);
      continue;
    }
    const text = await readFile(file, 'utf8');
    const name = rel.slice(rel.lastIndexOf('/') + 1).replace(/\.[^.]*$/, '');
    let page: ExtractedPage;
    try {
      if (/\.html?$/i.test(file)) {
        const html = await (options.extractHtml ?? extractHtml)(text, url);
        if (html.noindex) {
          options.onFailure(url, 'noindex', 'the page asks not to be indexed (meta robots)');
          continue;
        }
        page = html;
      } else if (/\.(md|markdown)$/i.test(file)) {
        page = extractMarkdown(text, name);
      } else {
        page = extractText(text, name);
      }
    } catch (error) {
      options.onFailure(url, 'unparsable', (error as Error).message);
      continue;
    }
    const passages = chunk(page, url);
    if (passages.length === 0) {
      options.onFailure(url, 'empty', 'no text found');
      continue;
    }
    pages.push({ url, title: page.title, links: [], hash: hashPassages(passages), passages });
  }
  return pages;
}

export function urlOf(rel: string, baseUrl: string): string {
  const path = rel
    .replace(/(^|\/)index\.(md|markdown|html?)$/i, '$1')
    .replace(/\.(md|markdown)$/i, '');
  return new URL(path.split('/').map(encodeURIComponent).join('/'), baseUrl).href;
}

async function walk(dir: string, out: string[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.isSymbolicLink()) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, out);
    else if (entry.isFile() && /\.(md|markdown|html?|txt)$/i.test(entry.name)) out.push(full);
  }
}
