import { describe, expect, it } from 'vitest';
import { articlePage } from '../test/static-site.js';
import { expectLinear, repeat } from '../test/linear-time.js';
import { chunk, MAX_PASSAGE_TOKENS } from './chunk.js';
import { extractHtml, extractMarkdown, extractText } from './extract.js';
import { parseSitemap } from './sitemap.js';
import { terms } from './tokenize.js';

describe('extracting the text that matters', () => {
  it('keeps an HTML article\'s title, headings and text, and drops navigation, header, footer and scripts', () => {
    const html = articlePage('Set up SSO', {
      'Supported providers': 'Any SAML 2.0 identity provider works, including Okta and Microsoft Entra ID.',
      'Enforce SSO': 'With Require SSO on, members can no longer sign in with a password at all.',
    }).replace('</article>', '<script>steal()</script><h3>Break-glass account</h3><ul><li>Keep one owner with a password.</li><li>Turn on 2FA for it.</li></ul></article>');
    const page = extractHtml(html, 'https://help.example.com/sso');
    expect(page.title).toBe('Set up SSO');
    expect(page.sections.map((s) => s.heading)).toEqual(['Supported providers', 'Enforce SSO', 'Enforce SSO › Break-glass account']);
    expect(page.sections[2]?.text).toBe('- Keep one owner with a password.\n\n- Turn on 2FA for it.');
    const all = JSON.stringify(page.sections);
    expect(all).not.toMatch(/steal|Pricing|Careers|Copyright/);
    expect(page.links).toEqual(['https://help.example.com/', 'https://help.example.com/pricing', 'https://help.example.com/blog', 'https://help.example.com/login']);
  });

  it('falls back to the body of a page too short for Readability', () => {
    const page = extractHtml('<html><head><title>Status</title></head><body><nav>Home</nav><p>All systems normal.</p></body></html>', 'https://x.example/status');
    expect(page.title).toBe('Status');
    expect(page.sections).toEqual([{ heading: '', text: 'All systems normal.' }]);
  });

  it('splits markdown at its headings outside code fences, with front matter for the title', () => {
    const page = extractMarkdown('---\ntitle: "API keys"\n---\nIntro.\n\n## Create\n\nSteps.\n\n```sh\n# not a heading\n```\n\nSetext\n------\n\nMore.\n\n### Deep ###\n\nDeeper.', 'fallback');
    expect(page.title).toBe('API keys');
    expect(page.sections).toEqual([
      { heading: '', text: 'Intro.' },
      { heading: 'Create', text: 'Steps.\n\n```sh\n# not a heading\n```' },
      { heading: 'Setext', text: 'More.' },
      { heading: 'Setext › Deep', text: 'Deeper.' },
    ]);
    expect(extractMarkdown('# Title\n\nBody', 'x').title).toBe('Title');
    expect(extractText('Release notes\n\n\n\nFixed things.', 'x')).toEqual({ title: 'Release notes', sections: [{ heading: '', text: 'Release notes\n\nFixed things.' }] });
  });

  it('reads the <loc> of sitemaps and sitemap indexes, http(s) only', () => {
    expect(parseSitemap('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc> https://a.example/x#top </loc></url><url><loc>javascript:alert(1)</loc></url><url><loc>ftp://a.example/f</loc></url></urlset>')).toEqual({ kind: 'urlset', urls: ['https://a.example/x'] });
    expect(parseSitemap('<sitemapindex><sitemap><loc>https://a.example/s.xml</loc></sitemap></sitemapindex>').kind).toBe('index');
  });

  it('makes passages small enough to quote, each with its page\'s title, URL and heading', () => {
    const long = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} explains one more detail of the billing cycle.`).join(' ');
    const passages = chunk({ title: 'Billing', sections: [{ heading: 'Cycle', text: `${long}\n\nA closing paragraph.` }] }, 'https://h.example/billing');
    expect(passages.length).toBeGreaterThan(2);
    for (const p of passages) {
      expect(p.tokens).toBeLessThanOrEqual(MAX_PASSAGE_TOKENS);
      expect(p).toMatchObject({ url: 'https://h.example/billing', title: 'Billing', heading: 'Cycle' });
    }
    expect(passages.map((p) => p.position)).toEqual(passages.map((_, i) => i));
  });

  it('turns text into the same search terms for pages and questions', () => {
    expect(terms('How do I reset my Passwords?')).toEqual(['reset', 'password']);
    expect(terms('Réinitialiser — invoices, INVOICE')).toEqual(['reinitialis', 'invoic', 'invoic']);
    expect(terms(`x${'a'.repeat(500)}`)[0]?.length).toBeLessThanOrEqual(32);
  });

  it('refuses a page nested deeper than 256 elements before building any DOM', () => {
    expect(() => extractHtml(`<html><body>${'<div>'.repeat(300)}text</body></html>`, 'https://x.example/')).toThrow(/nested more than 256 deep/);
    expect(extractHtml(`<html><body>${'<div>'.repeat(200)}<p>Deep but fine.</p></body></html>`, 'https://x.example/').sections[0]?.text).toBe('Deep but fine.');
  });

  // Shapes whose depth only HTML's own parsing rules reveal: each nests once per repetition in
  // the tree linkedom builds, and a hand-written scan had counted them as flat (seconds of
  // synchronous work at 50 kB, minutes at the 2 MB page limit).
  const disguised: [string, string][] = [
    ['<p> and <li> alternating (neither closes the other)', '<p>x<li>y'],
    ['<div/> (self-closing means nothing in HTML)', '<div/>x'],
    ['a tag name that only starts like <p>', '<p_>x'],
    ['elements inside <noscript> (parsed as elements)', '<noscript><div>x'],
    ['<template> content', '<template><div>x'],
  ];
  for (const [name, unit] of disguised) {
    it(`refuses a page nested deeper than 256 elements however it is written: ${name}`, () => {
      expect(() => extractHtml(`<html><body>${unit.repeat(300)}</body></html>`, 'https://x.example/')).toThrow(/nested more than 256 deep/);
    });
  }
  it('refuses a page of more than 30,000 elements before building any DOM (2 MB of <br> was 15 s and 650 MB)', () => {
    expect(() => extractHtml(`<html><body>${'<br>'.repeat(500_000)}</body></html>`, 'https://x.example/')).toThrow(/more than 30000 elements/);
    expect(() => extractHtml(`<html><body>${'<a href="/p">p</a> '.repeat(30_001)}</body></html>`, 'https://x.example/')).toThrow(/more than 30000 elements/);
    expect(extractHtml(`<html><body><p>${'a<br>'.repeat(29_000)}</p></body></html>`, 'https://x.example/').sections).toHaveLength(1);
  }, 60_000);
  it('refuses a deep page behind a stray quote in a tag (a quote opens no value outside one)', () => {
    expect(() => extractHtml(`<html><body><div a'>${'<div>x'.repeat(300)}'></body></html>`, 'https://x.example/')).toThrow(/nested more than 256 deep/);
  });
  it('reads a sitemap\'s <loc>s whatever their prefix or CDATA, and expands no entity a DTD declares', () => {
    expect(parseSitemap('<urlset><url><sm:loc>https://a.example/y?a=1&amp;b=2</sm:loc></url><url><loc><![CDATA[https://a.example/c]]></loc></url></urlset>').urls).toEqual(['https://a.example/y?a=1&b=2', 'https://a.example/c']);
    const bomb = `<!DOCTYPE u [<!ENTITY a "${'a'.repeat(100)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><urlset><url><loc>https://a.example/&b;</loc></url></urlset>`;
    expect(parseSitemap(bomb).urls).toEqual(['https://a.example/&b;']);
  });

  it('reads a sitemap of millions of empty elements in one pass, building no tree (as cheap as the same bytes of text)', () => {
    // 8 MB (the sitemap limit is 10 MB): as a DOM this took a gigabyte and most of a minute.
    const size = 8_000_000;
    const time = (xml: string): number => {
      const started = performance.now();
      parseSitemap(xml);
      return performance.now() - started;
    };
    const text = time(`<urlset>${'x'.repeat(size)}</urlset>`);
    const elements = time(`<urlset>${'<a/>'.repeat(size / 4)}<url><loc>https://a.example/p</loc></url></urlset>`);
    expect(elements / Math.max(text, 5), `elements ${elements.toFixed(0)} ms, text ${text.toFixed(0)} ms`).toBeLessThan(30);
  }, 120_000);

  it('refuses a sitemap nested deeper than a sitemap is, however it is written', () => {
    // In XML, <p> closes nothing.
    expect(() => parseSitemap(`<urlset>${'<p>'.repeat(100)}</urlset>`)).toThrow(/deep/);
  });

  const attempt = (run: () => unknown): unknown => {
    try {
      return run();
    } catch (error) {
      return error;
    }
  };
  // The landmark path, which every page past Readability's bound takes (readability: false forces it).
  const plain = (html: string) => extractHtml(html, 'https://x.example/', { readability: false });
  const hostile: [string, (n: number) => string, (input: string) => unknown][] = [
    ['deeply nested elements (refused)', (n) => `<html><body>${repeat('<i>', n)}text</body></html>`, (html) => expect(() => plain(html)).toThrow()],
    ['nesting within the limit', (n) => `<html><body>${repeat(`${'<div>'.repeat(100)}<p>x</p>${'</div>'.repeat(100)}`, n)}</body></html>`, plain],
    ['scripts', (n) => `<html><body>${repeat('<script>x</script><p>a</p>', n)}</body></html>`, plain],
    ['unclosed quotes', (n) => `<html><body>${repeat('<a title="<', n)}</body></html>`, plain],
    ['comments', (n) => `<html><body>${repeat('<!-- <div> -->', n)}</body></html>`, plain],
    ['unclosed anchors', (n) => `<html><body><p>${repeat('<a href="/x', n)}</p></body></html>`, plain],
    ['one endless attribute', (n) => `<html><body><p title="${repeat('a', n)}">x</p></body></html>`, plain],
    ['many links', (n) => `<html><body>${repeat('<a href="/p">p</a> ', n)}</body></html>`, plain],
    ['paragraphs', (n) => `<html><body><article><h1>T</h1>${repeat('<p>Some words in a paragraph of the article.</p>', n)}</article></body></html>`, plain],
    ['markdown brackets and hashes', (n) => repeat('[[[(## #', n), (md) => extractMarkdown(md, 'x')],
    ['markdown lines', (n) => repeat('## h\n```\n', n), (md) => extractMarkdown(md, 'x')],
    // Whole extraction, Readability included; refused past 256 deep (the 1k input is not).
    ['disguised nesting', (n) => `<html><body>${repeat('<p>x<li>y', n)}</body></html>`, (html) => attempt(() => extractHtml(html, 'https://x.example/'))],
    ['a stray quote before deep nesting', (n) => `<html><body><div a'>${repeat('<div>x', n)}'></body></html>`, (html) => attempt(() => extractHtml(html, 'https://x.example/'))],
    ['deep sitemap (refused)', (n) => `<urlset>${repeat('<url>', n)}</urlset>`, (xml) => expect(() => parseSitemap(xml)).toThrow(/deep/)],
    ['sitemap', (n) => `<urlset>${repeat('<url><loc>https://a.example/p</loc></url>', n)}</urlset>`, (xml) => parseSitemap(xml)],
    ['terms', (n) => repeat('Ünïcödé wörds and 12345 numbers, ', n), (text) => terms(text)],
    ['one word', (n) => repeat('a', n), (text) => terms(text)],
    ['chunking one huge paragraph', (n) => repeat('word ', n), (text) => chunk({ title: 't', sections: [{ heading: '', text }] }, 'https://x.example/')],
  ];
  for (const [name, make, run] of hostile) {
    it(`reads hostile input in linear time: ${name}`, () => expectLinear(name, make, run), 60_000);
  }
});
