import { Readability } from '@mozilla/readability';
import { Parser } from 'htmlparser2';
import { parseHTML } from 'linkedom';

/** A page's text that matters, in reading order, split at its headings. */
export interface ExtractedPage {
  title: string;
  sections: Section[];
}

export interface Section {
  /** The heading path above this text, e.g. "Billing › Refunds"; "" before the first heading. */
  heading: string;
  /** Paragraphs separated by blank lines; list items start with "- ". */
  text: string;
}

export interface ExtractedHtml extends ExtractedPage {
  /** Absolute http(s) links of the page, fragments removed, in document order. */
  links: string[];
  /** `<meta name="robots" content="noindex">`: the page asks not to be indexed. */
  noindex: boolean;
  /** `nofollow`: its links are not to be followed. */
  nofollow: boolean;
}

/**
 * Readability runs only on pages within these bounds. Over linkedom it is far from linear: a
 * thousand nested or sibling elements can take seconds (measured: 400 nested divs, 10 s), so a
 * hostile page could buy unbounded work. A help article has a few hundred elements, a dozen or
 * two deep. Past the bounds, the page's own landmarks give the main content in one linear walk.
 */
const READABILITY_MAX_ELEMENTS = 1_000;
const READABILITY_MAX_DEPTH = 48;
/**
 * Deeper than this, a page is refused before any DOM is built: linkedom's tree building slows
 * down with depth (each insertion walks its ancestors), so depth is what a hostile page would
 * buy time with. Real pages stay well under 100.
 */
const MAX_DEPTH = 256;
/**
 * More elements than this, and a page is refused before any DOM is built. linkedom's tree costs
 * up to a few kilobytes and tens of microseconds per element, synchronously on the event loop that
 * serves the chat: 2 MB of `<br>` (500,000 elements) took 15 s and 650 MB, 100,000 links 4.6 s.
 * Here the worst a page can cost is about a second. A long help article has a few thousand.
 */
const MAX_ELEMENTS = 30_000;

/** Landmarks that hold no article text. */
const CHROME = 'nav, header, footer, aside, form, [role="navigation"], [role="banner"], [role="contentinfo"], [role="complementary"], [role="search"]';
const BLOCKS = new Set([
  'P', 'DIV', 'SECTION', 'ARTICLE', 'MAIN', 'LI', 'UL', 'OL', 'DL', 'DT', 'DD', 'PRE', 'BLOCKQUOTE', 'TABLE',
  'TR', 'TD', 'TH', 'FIGURE', 'FIGCAPTION', 'BR', 'HR', 'ASIDE', 'DETAILS', 'SUMMARY', 'HEADER', 'FOOTER',
]);
const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'IFRAME', 'BUTTON', 'FORM', 'NAV']);
const HEADING = /^H([1-6])$/;

/** The little of linkedom's DOM this file uses (the server is built without the DOM library). */
interface DomNode {
  nodeType: number;
  textContent: string | null;
  firstChild: DomNode | null;
  nextSibling: DomNode | null;
}
interface DomElement extends DomNode {
  tagName: string;
  getAttribute(name: string): string | null;
}

/**
 * The main content of an HTML page: Mozilla's Readability (Firefox Reader View) over linkedom's
 * server-side DOM drops navigation, header, footer and sidebars; the article's own headings then
 * split its text into sections. Links are read from the whole page first (Readability rewrites
 * the document). When Readability finds no article, the body minus nav, header, footer and aside
 * is used instead, so a short page is not lost.
 *
 * Work is bounded: a page nested deeper than `MAX_DEPTH` is refused after a linear pre-scan;
 * Readability, which is not linear over linkedom, only sees pages of at most
 * `READABILITY_MAX_ELEMENTS` elements (bounded work, however hostile); larger pages take the
 * landmark path, which is linear (`extract.test.ts` measures it; `readability: false` forces it).
 */
export function extractHtml(html: string, url: string, options: { readability?: boolean } = {}): ExtractedHtml {
  const shape = prescan(html, { maxElements: MAX_ELEMENTS });
  if (shape.depth > MAX_DEPTH) throw new Error(`elements nested more than ${MAX_DEPTH} deep`);
  if (shape.elements > MAX_ELEMENTS) throw new Error(`more than ${MAX_ELEMENTS} elements`);
  const { document } = parseHTML(html);
  const robots = (document.querySelector('meta[name="robots" i]')?.getAttribute('content') ?? '').toLowerCase();
  const links = readLinks(document, url);
  const pageTitle = (document.querySelector('title')?.textContent ?? '').trim();
  const firstH1 = (document.querySelector('h1')?.textContent ?? '').trim();

  let root: DomElement | null = null;
  let title = '';
  if (options.readability !== false && shape.elements <= READABILITY_MAX_ELEMENTS && shape.depth <= READABILITY_MAX_DEPTH) {
    try {
      const article = new Readability(document as never, { serializer: (node: unknown) => node }).parse();
      root = (article?.content as unknown as DomElement | null | undefined) ?? null;
      title = article?.title?.trim() ?? '';
    } catch {
      root = null;
    }
  }
  if (root === null || (root.textContent ?? '').trim() === '') {
    // Readability rewrote the document: start again from the HTML.
    const { document: fresh } = parseHTML(html);
    const main = fresh.querySelector('main, [role="main"], article') ?? fresh.body;
    for (const el of main?.querySelectorAll(CHROME) ?? []) el.remove();
    root = main as unknown as DomElement;
  }
  // A help article's h1 names it better than a <title> that carries the site's name too.
  title = clean(firstH1 || title || pageTitle || url).slice(0, 300);
  return { title, sections: sectionsOf(root, firstH1), links, noindex: /\bnoindex\b|\bnone\b/.test(robots), nofollow: /\bnofollow\b|\bnone\b/.test(robots) };
}

/**
 * Walks the tree once, iteratively (a page nested 100,000 deep must not overflow the stack), and
 * cuts a new section at every heading. Text of block elements is separated by blank lines.
 */
function sectionsOf(root: DomElement, h1: string): Section[] {
  const sections: Section[] = [];
  const path: string[] = [];
  let heading = '';
  let buffer: string[] = [];
  let line = '';
  const endLine = (): void => {
    const text = clean(line);
    if (text !== '') buffer.push(text);
    line = '';
  };
  const endSection = (): void => {
    endLine();
    if (buffer.length > 0) sections.push({ heading, text: buffer.join('\n\n') });
    buffer = [];
  };

  // An explicit stack of [node, leaving]: entering pushes the exit marker, then the children.
  const stack: [DomNode, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [node, leaving] = stack.pop() as [DomNode, boolean];
    if (node.nodeType === 3) {
      line += node.textContent ?? '';
      continue;
    }
    if (node.nodeType !== 1) continue;
    const el = node as DomElement;
    const tag = el.tagName.toUpperCase();
    if (SKIP.has(tag)) continue;
    const level = HEADING.exec(tag)?.[1];
    if (level !== undefined) {
      if (leaving) continue;
      endSection();
      const text = clean(el.textContent ?? '');
      const depth = Number(level);
      path.length = Math.max(0, depth - 2); // h2 starts a path; h1 is the page title itself
      if (depth > 1 || text !== h1) path.push(text);
      heading = path.filter((p) => p !== '').join(' › ');
      continue; // its text is the heading, not part of the body
    }
    if (BLOCKS.has(tag)) {
      endLine();
      if (!leaving && tag === 'LI') line = '- ';
    }
    if (leaving) continue;
    stack.push([node, true]);
    // Siblings by nextSibling (constant time each in linkedom), not childNodes[i], which walks
    // the list from the start on every index and made a page of 10,000 links quadratic.
    const children: DomNode[] = [];
    for (let child = el.firstChild; child !== null; child = child.nextSibling) children.push(child);
    for (let i = children.length - 1; i >= 0; i--) stack.push([children[i] as DomNode, false]);
  }
  endSection();
  return sections.filter((s) => s.text.replace(/^- /, '').trim() !== '');
}

/** Thrown from the parser's callbacks to stop counting once a limit is passed. */
const STOP = Symbol('stop');

/**
 * Elements and the deepest nesting of an HTML (or, with `xml`, XML) text, before any DOM is
 * built, counted by htmlparser2 itself with the very options linkedom parses with (see linkedom's
 * parse-from-string.js): its tokenizer is linear, and the tree linkedom then builds has exactly
 * the nesting counted here. A scan of our own guessed wrong where HTML is subtle, and each wrong
 * guess let a small page buy minutes of synchronous work: `<p><li>` pairs (neither closes the
 * other), `<div/>` (not self-closing in HTML), a stray quote in a tag, `<noscript>`'s content
 * (parsed as elements), `<p_>` (not a `<p>`). htmlparser2 keeps its open elements with
 * `Array.unshift`, so its own time grows with depth squared: counting stops as soon as `limit`
 * is passed (the depth answered is then `limit + 1`, the elements those seen so far), and as
 * soon as there are more than `maxElements` elements.
 */
export function prescan(markup: string, options: { xml?: boolean; limit?: number; maxElements?: number } = {}): { elements: number; depth: number } {
  const limit = options.limit ?? MAX_DEPTH;
  const maxElements = options.maxElements ?? Infinity;
  let elements = 0;
  let open = 0;
  let depth = 0;
  const parser = new Parser(
    {
      onopentagname() {
        elements++;
        open++;
        if (open > depth) depth = open;
        if (depth > limit || elements > maxElements) throw STOP;
      },
      // Also for void and self-closed elements, right after their opening: they add no depth.
      onclosetag() {
        open--;
      },
    },
    { lowerCaseAttributeNames: false, decodeEntities: true, xmlMode: options.xml === true },
  );
  try {
    parser.end(markup);
  } catch (error) {
    if (error !== STOP) throw error;
  }
  return { elements, depth };
}

function readLinks(document: { querySelectorAll(selector: string): Iterable<DomElement> }, base: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const a of document.querySelectorAll('a[href]')) {
    const rel = (a.getAttribute('rel') ?? '').toLowerCase();
    if (rel.includes('nofollow')) continue;
    const href = a.getAttribute('href') ?? '';
    if (href.length > 2048 || !URL.canParse(href, base)) continue;
    const target = new URL(href, base);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') continue;
    target.hash = '';
    if (!seen.has(target.href)) {
      seen.add(target.href);
      out.push(target.href);
    }
  }
  return out;
}

/** Collapses whitespace (one linear regex, a single class). */
function clean(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * A markdown page, split at its ATX (`## Heading`) and setext (`Heading` over `---`) headings,
 * outside fenced code. The text stays markdown: the model reads it well and the widget renders
 * it. Line by line, each line looked at a constant number of times. A leading front matter block
 * (`---` ... `---`) gives the title when it has `title:`.
 */
export function extractMarkdown(markdown: string, fallbackTitle: string): ExtractedPage {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  let start = 0;
  let title = '';
  if (lines[0]?.trim() === '---') {
    const end = lines.indexOf('---', 1);
    if (end > 0) {
      for (const line of lines.slice(1, end)) {
        if (line.startsWith('title:')) title = unquote(line.slice(6).trim());
      }
      start = end + 1;
    }
  }
  const sections: Section[] = [];
  const path: string[] = [];
  let heading = '';
  let body: string[] = [];
  let fence: string | undefined;
  const endSection = (): void => {
    const text = body.join('\n').replace(/\n{3,}/g, '\n\n').trim();
    if (text !== '') sections.push({ heading, text });
    body = [];
  };
  const openHeading = (depth: number, text: string): void => {
    endSection();
    if (depth === 1 && title === '') {
      title = text;
      path.length = 0;
    } else {
      path.length = Math.max(0, depth - 2);
      path.push(text);
    }
    heading = path.join(' › ');
  };
  for (let i = start; i < lines.length; i++) {
    const line = lines[i] as string;
    const trimmed = line.trimStart();
    if (trimmed.startsWith('```') || trimmed.startsWith('~~~')) {
      const mark = trimmed.slice(0, 3);
      fence = fence === undefined ? mark : fence === mark ? undefined : fence;
      body.push(line);
      continue;
    }
    if (fence === undefined) {
      const atx = atxHeading(line);
      if (atx !== undefined) {
        openHeading(atx.depth, atx.text);
        continue;
      }
      const next = lines[i + 1]?.trim() ?? '';
      if (line.trim() !== '' && next !== '' && (/^=+$/.test(next) || /^-+$/.test(next)) && !trimmed.startsWith('- ')) {
        openHeading(next.startsWith('=') ? 1 : 2, clean(line));
        i++;
        continue;
      }
    }
    body.push(line);
  }
  endSection();
  return { title: clean(title || fallbackTitle).slice(0, 300), sections };
}

/** Plain text: one section, paragraphs as written; the first line is the title when short. */
export function extractText(text: string, fallbackTitle: string): ExtractedPage {
  const normal = text.replace(/\r\n?/g, '\n').trim();
  const first = normal.split('\n', 1)[0]?.trim() ?? '';
  const title = first.length > 0 && first.length <= 120 ? first : fallbackTitle;
  return { title: clean(title).slice(0, 300), sections: normal === '' ? [] : [{ heading: '', text: normal.replace(/\n{3,}/g, '\n\n') }] };
}

/** `## Text ##` -> depth 2, "Text"; undefined when the line is no ATX heading. */
function atxHeading(line: string): { depth: number; text: string } | undefined {
  let depth = 0;
  while (depth < line.length && line[depth] === '#') depth++;
  if (depth === 0 || depth > 6 || (line[depth] !== ' ' && line[depth] !== '\t' && depth !== line.length)) return undefined;
  let text = line.slice(depth).trim();
  let end = text.length;
  while (end > 0 && text[end - 1] === '#') end--;
  if (end === 0 || text[end - 1] === ' ') text = text.slice(0, end).trim();
  return { depth, text: clean(text) };
}

function unquote(value: string): string {
  return value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0] ? value.slice(1, -1) : value;
}
