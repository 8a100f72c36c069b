import { describe, expect, it } from 'vitest';
import { expectLinear, repeat } from '../test/linear-time.js';
import { parseSitemap } from './sitemap.js';

const NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"';

describe('telling a sitemap from what is not one', () => {
  it('takes <urlset> and <sitemapindex> as the root whatever their prefix or namespace, empty ones too', () => {
    expect(parseSitemap(`<?xml version="1.0"?>\n<!-- generated --><urlset ${NS}></urlset>\n`)).toEqual({ kind: 'urlset', urls: [] });
    expect(parseSitemap('<urlset/>')).toEqual({ kind: 'urlset', urls: [] });
    expect(parseSitemap('<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:sitemap><sm:loc>https://a.example/s.xml</sm:loc></sm:sitemap></sm:sitemapindex>')).toEqual({ kind: 'index', urls: ['https://a.example/s.xml'] });
    // Google's old namespace, and none at all: still what their owners mean.
    expect(parseSitemap('<urlset xmlns="http://www.google.com/schemas/sitemap/0.84"><url><loc>https://a.example/p</loc></url></urlset>').urls).toEqual(['https://a.example/p']);
    // Text before the root (a byte-order mark, blank lines) says nothing either way.
    expect(parseSitemap('\uFEFF\n\n  <urlset><url><loc>https://a.example/q</loc></url></urlset>').urls).toEqual(['https://a.example/q']);
  });

  it('refuses a body whose root element is not a sitemap\'s, naming it', () => {
    const refused = (text: string) => () => parseSitemap(text);
    expect(refused('<!DOCTYPE html><html><head><title>Not found</title></head><body><urlset></urlset></body></html>')).toThrow('the root element is <html>, not <urlset> or <sitemapindex>');
    expect(refused('<?xml version="1.0"?><rss version="2.0"><channel/></rss>')).toThrow('the root element is <rss>');
    expect(refused('<sitemapindexes><sitemap><loc>https://a.example/s.xml</loc></sitemap></sitemapindexes>')).toThrow('the root element is <sitemapindexes>');
    expect(refused('<url><loc>https://a.example/p</loc></url>')).toThrow('the root element is <url>');
    expect(refused(`<${'x'.repeat(5_000)}>`)).toThrow(/^the root element is <x{40}…>/);
  });

  it('refuses a body with no element: empty, blank, plain text, JSON', () => {
    expect(() => parseSitemap('')).toThrow('the body is empty');
    expect(() => parseSitemap(' \n\t')).toThrow('the body is empty');
    expect(() => parseSitemap('Service unavailable')).toThrow('no XML element in the body');
    expect(() => parseSitemap('{"urls":["https://a.example/p"]}')).toThrow('no XML element in the body');
    expect(() => parseSitemap('<?xml version="1.0"?><!-- nothing -->')).toThrow('no XML element in the body');
  });

  it('refuses a sitemap cut short, wherever the cut falls, and one with a second root', () => {
    const whole = `<urlset ${NS}><url><loc>https://a.example/a</loc></url><url><loc>https://a.example/b</loc></url></urlset>`;
    expect(parseSitemap(whole).urls).toHaveLength(2);
    for (let cut = 1; cut < whole.length; cut++) {
      expect(() => parseSitemap(whole.slice(0, cut)), whole.slice(0, cut)).toThrow(/is never closed|no XML element/);
    }
    expect(() => parseSitemap(whole.slice(0, whole.indexOf('<url><loc>https://a.example/b')))).toThrow('<urlset> is never closed: the file ends before its end tag');
    expect(() => parseSitemap(whole.slice(0, whole.indexOf('b</loc>')))).toThrow('<urlset> is never closed: the file ends inside <loc>');
    expect(() => parseSitemap(`${whole}<html><body>injected</body></html>`)).toThrow('a second root element <html> after </urlset>');
    // What follows the root and is no element (a comment, blank lines) is no second root.
    expect(parseSitemap(`${whole}\n<!-- cached -->\n`).urls).toHaveLength(2);
  });

  it('stays as lenient as before within the root: stray and mismatched end tags, an unescaped &', () => {
    expect(parseSitemap('<urlset><url><loc>https://a.example/a?x=1&y=2</url></foo><url><loc>https://a.example/b</loc></url></urlset>').urls).toEqual(['https://a.example/a?x=1&y=2', 'https://a.example/b']);
  });

  it('stops at 50,000 URLs without asking whether the rest is well formed', () => {
    const many = `<urlset>${'<url><loc>https://a.example/p</loc></url>'.repeat(50_001)}`;
    expect(parseSitemap(many).urls).toHaveLength(50_000);
  });

  const hostile: [string, (n: number) => string][] = [
    ['an HTML page', (n) => `<!doctype html><html><body>${repeat('<div><p>x</p></div>', n)}</body></html>`],
    ['text with no element', (n) => repeat('Service unavailable. ', n)],
    ['text with no element but a lone <', (n) => repeat('a < b ', n)],
    ['a sitemap cut short', (n) => `<urlset>${repeat('<url><loc>https://a.example/p</loc></url>', n)}<url><loc>https://a.ex`],
    ['roots one after another', (n) => `<urlset></urlset>${repeat('<!-- x -->', n)}<urlset>`],
  ];
  for (const [name, make] of hostile) {
    it(`refuses what is not a sitemap in linear time: ${name}`, () => expectLinear(name, make, (text) => expect(() => parseSitemap(text)).toThrow()), 60_000);
  }
});
