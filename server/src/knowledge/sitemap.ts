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
 *
 * An empty `<urlset>` is the site saying it lists no pages, so anything else that merely yields
 * no `<loc>` must not pass for one: a body with no element, or whose root element is not
 * `<urlset>` or `<sitemapindex>` (an HTML "soft 404", a login or maintenance page served 200, an
 * RSS feed), throws at the first element, before reading further. So does a
 * document whose elements are not all closed at its end (a file cut short lists only some of the
 * pages) or that has a second root element. The root is matched by its local name, whatever its
 * prefix, and its namespace is not checked: many real sitemaps omit `xmlns` or carry an old one
 * (Google's 0.84), and reading them is what their owners expect. Within the root the reading stays
 * as lenient as htmlparser2 is (a stray or mismatched end tag, an unescaped `&`): those lose no URL.
 */
export function parseSitemap(xml: string): Sitemap {
  let kind: Sitemap['kind'] | undefined;
  /** The root element as written (with its prefix), once met. */
  let root: string | undefined;
  /** Set once the whole input is written: what htmlparser2 closes from then on was never closed. */
  let ending = false;
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
        if (depth === 1) {
          if (root !== undefined) throw new Error(`a second root element <${clip(name)}> after </${clip(root)}>`);
          root = name;
          const local = localName(name);
          if (local !== 'urlset' && local !== 'sitemapindex') throw new Error(`the root element is <${clip(name)}>, not <urlset> or <sitemapindex>`);
          kind = local === 'sitemapindex' ? 'index' : 'urlset';
        }
        if (localName(name) === 'loc' && loc === undefined) {
          loc = '';
          locDepth = depth;
        }
      },
      ontext(text) {
        // Past the limit the URL is refused anyway: stop collecting rather than grow the string.
        if (loc !== undefined && loc.length <= MAX_URL_CHARS) loc += text;
      },
      onclosetag(name) {
        // At the end of the input htmlparser2 closes whatever is still open: a file cut short.
        if (ending) throw new Error(`<${clip(root ?? name)}> is never closed: the file ends ${depth > 1 ? `inside <${clip(name)}>` : 'before its end tag'}`);
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
    parser.write(xml);
    ending = true;
    parser.end();
  } catch (error) {
    // Enough URLs: the rest of the file is not read, so whether it is well formed is not known.
    if (error !== ENOUGH) throw error;
    return { kind: kind ?? 'urlset', urls };
  }
  if (kind === undefined) throw new Error(xml.trim() === '' ? 'the body is empty' : 'no XML element in the body');
  return { kind, urls };
}

/** An element name as it goes into a message: a hostile one may be long. */
function clip(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}…` : name;
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
