import { Parser } from 'htmlparser2';

/** What a sitemap lists: pages (`<urlset>`) or other sitemaps (`<sitemapindex>`). */
export interface Sitemap {
  kind: 'urlset' | 'index';
  urls: string[];
}

/** The sitemap protocol's own limit per file; more is not a sitemap we trust. */
const MAX_URLS = 50_000;
/** A sitemap is four elements deep. */
const MAX_DEPTH = 16;
const MAX_URL_CHARS = 2048;

/** Thrown from the parser's callbacks to stop reading: enough URLs. */
const ENOUGH = Symbol('enough');

/**
 * Reads a sitemap (sitemaps.org 0.9) in one streaming pass of htmlparser2's XML tokenizer: no
 * DOM is built (a DOM of a 10 MB sitemap of empty elements took a gigabyte and most of a minute),
 * only the text of each `<loc>` (any namespace prefix) is kept, no entity beyond the predefined
 * and numeric ones is expanded, no DTD is read. Only absolute http(s) `<loc>` values are kept;
 * which origin they may be on is the crawler's decision. Nesting deeper than a sitemap's is
 * refused as it is met (htmlparser2's time grows with depth squared, see extract.ts).
 */
export function parseSitemap(xml: string): Sitemap {
  let kind: Sitemap['kind'] | undefined;
  const urls: string[] = [];
  let depth = 0;
  /** The text of the `<loc>` being read; undefined outside one. */
  let loc: string | undefined;
  let locDepth = 0;
  const parser = new Parser(
    {
      onopentagname(name) {
        depth++;
        if (depth > MAX_DEPTH) throw new Error(`elements nested more than ${MAX_DEPTH} deep`);
        const local = localName(name);
        kind ??= local.endsWith('sitemapindex') ? 'index' : 'urlset';
        if (local === 'loc' && loc === undefined) {
          loc = '';
          locDepth = depth;
        }
      },
      ontext(text) {
        // Past the limit the URL is refused anyway: stop collecting rather than grow the string.
        if (loc !== undefined && loc.length <= MAX_URL_CHARS) loc += text;
      },
      onclosetag() {
        if (loc !== undefined && depth === locDepth) {
          keep(loc.trim(), urls);
          loc = undefined;
          if (urls.length >= MAX_URLS) throw ENOUGH;
        }
        depth--;
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  try {
    parser.end(xml);
  } catch (error) {
    if (error !== ENOUGH) throw error;
  }
  return { kind: kind ?? 'urlset', urls };
}

function keep(text: string, urls: string[]): void {
  if (text.length > MAX_URL_CHARS || !URL.canParse(text)) return;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
  url.hash = '';
  urls.push(url.href);
}

function localName(name: string): string {
  return name.slice(name.lastIndexOf(':') + 1).toLowerCase();
}
