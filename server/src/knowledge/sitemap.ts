import { DOMParser } from 'linkedom';
import { prescan } from './extract.js';

/** What a sitemap lists: pages (`<urlset>`) or other sitemaps (`<sitemapindex>`). */
export interface Sitemap {
  kind: 'urlset' | 'index';
  urls: string[];
}

/** The sitemap protocol's own limit per file; more is not a sitemap we trust. */
const MAX_URLS = 50_000;
/** A sitemap is four elements deep. */
const MAX_DEPTH = 16;

/**
 * Reads a sitemap (sitemaps.org 0.9) with linkedom's XML parser (htmlparser2 underneath: one
 * linear pass, no entity expansion beyond the predefined ones, no DTDs fetched). Only absolute
 * http(s) `<loc>` values are kept; which origin they may be on is the crawler's decision.
 */
export function parseSitemap(xml: string): Sitemap {
  // A sitemap is four elements deep; anything much deeper is no sitemap, and would cost the XML
  // parser time by the square of its depth (see extract.ts).
  const { depth } = prescan(xml, { xml: true, limit: MAX_DEPTH });
  if (depth > MAX_DEPTH) throw new Error(`elements nested more than ${MAX_DEPTH} deep`);
  const document = new DOMParser().parseFromString(xml, 'text/xml');
  const root = document.documentElement;
  const kind = root?.localName?.toLowerCase().endsWith('sitemapindex') === true ? 'index' : 'urlset';
  const urls: string[] = [];
  for (const loc of document.querySelectorAll('loc')) {
    if (urls.length >= MAX_URLS) break;
    const text = (loc.textContent ?? '').trim();
    if (text.length > 2048 || !URL.canParse(text)) continue;
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    url.hash = '';
    urls.push(url.href);
  }
  return { kind, urls };
}
