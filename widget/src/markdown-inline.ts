import { h, type ComponentChild } from 'preact';
import { safeHref } from './markdown-link.js';

/**
 * Inline markdown (CommonMark's common subset plus GFM strikethrough and bare-URL autolinks) to
 * Preact children. Safe by construction: the output is text and a fixed set of elements, the only
 * attribute taken from the text is an href that passed `safeHref`, and raw HTML such as
 * `<img onerror=...>` stays literal text (text nodes cannot run anything).
 * Not CommonMark's full delimiter algorithm: an opener takes the first plausible closer. That is
 * enough for model output and keeps the renderer small (issue 4's size budget).
 */
type Match = [ComponentChild, number];

const SPECIAL = /[\\\n`*_~[!<h]/g;
const PUNCT = /[!-\/:-@[-`{-~]/;
const SPACE = /\s/;
const WORD = /[\p{L}\p{N}]/u;
const DEST = /\s*(?:<([^<>\n]*)>|((?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))+))(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/y;
const AUTOLINK = /<([a-z][a-z\d+.-]{1,31}:[^\s<>]*)>/iy;
const EMAIL = /<([^\s<>@]+@[^\s<>@]+)>/y;
const BARE = /https?:\/\/[^\s<]*[^\s<.,:;!?'")*_~]/y;
const TAGS: Record<string, string> = { '*': 'em', '_': 'em', '**': 'strong', __: 'strong', '~~': 'del' };

export function parseInline(src: string): ComponentChild[] {
  const out: ComponentChild[] = [];
  let text = '';
  const emit = (node?: ComponentChild) => {
    if (text) out.push(text);
    text = '';
    if (Array.isArray(node)) out.push(...(node as ComponentChild[]));
    else if (node != null) out.push(node);
  };
  for (let i = 0; i < src.length; ) {
    SPECIAL.lastIndex = i;
    const at = SPECIAL.exec(src)?.index ?? src.length;
    text += src.slice(i, at);
    if ((i = at) >= src.length) break;
    const c = src[i]!;
    const next = src[i + 1] ?? '';
    let m: Match | undefined;
    if (c === '\\') {
      if (next === '\n') m = [h('br', null), i + 2];
      else if (PUNCT.test(next)) m = [next, i + 2];
    } else if (c === '\n') {
      // Two trailing spaces make a hard break; a plain newline stays a soft break (CommonMark).
      const hard = / {2}$/.test(text);
      text = text.trimEnd();
      m = hard ? [h('br', null), i + 1] : ['\n', i + 1];
    } else if (c === '`') m = code(src, i);
    else if (c === '[') m = link(src, i, i);
    else if (c === '!') m = next === '[' ? link(src, i, i + 1) : undefined;
    else if (c === '<') m = autolink(src, i);
    else if (c === 'h') m = bare(src, i);
    else m = emphasis(src, i, c);
    if (!m) m = [c, i + 1];
    if (typeof m[0] == 'string') text += m[0];
    else emit(m[0]);
    i = m[1];
  }
  emit();
  return out;
}

function code(src: string, i: number): Match {
  let n = 1;
  while (src[i + n] === '`') n++;
  const run = src.slice(i, i + n);
  // The closing run has exactly as many backticks; a longer run is content.
  for (let k = i + n; (k = src.indexOf(run, k)) >= 0; ) {
    let e = k + n;
    if (src[e] !== '`') {
      let body = src.slice(i + n, k).replace(/\n/g, ' ');
      if (/^ .*[^ ].* $/.test(body)) body = body.slice(1, -1);
      return [h('code', null, body), e];
    }
    while (src[e] === '`') e++;
    k = e;
  }
  return [run, i + n];
}

function emphasis(src: string, i: number, c: string): Match {
  let n = 1;
  while (src[i + n] === c) n++;
  const literal: Match = [src.slice(i, i + n), i + n];
  const d = c === '~' ? 2 : Math.min(n, 2);
  if (c === '~' && n !== 2) return literal;
  const mark = c.repeat(d);
  const after = src[i + d];
  // `_` never opens or closes inside a word, so snake_case stays text.
  if (!after || SPACE.test(after) || (c === '_' && WORD.test(src[i - 1] ?? ''))) return literal;
  for (let k = i + d; (k = src.indexOf(mark, k + 1)) >= 0; ) {
    let e = k + d;
    if (SPACE.test(src[k - 1]!) || (d === 1 && (src[k - 1] === c || src[e] === c))) continue;
    // `***x***`: the strong closes on the last two of the run, leaving `*x*` inside.
    while (src[e] === c) (k++, e++);
    if (c === '_' && WORD.test(src[e] ?? '')) continue;
    return [h(TAGS[mark]!, null, parseInline(src.slice(i + d, k))), e];
  }
  return literal;
}

/** `[text](url)` and `![alt](src)`; `open` is the index of the `[`. Images render as their alt text. */
function link(src: string, i: number, open: number): Match | undefined {
  let depth = 0;
  let k = open;
  for (; k < src.length; k++) {
    if (src[k] === '\\') k++;
    else if (src[k] === '[') depth++;
    else if (src[k] === ']' && !--depth) break;
  }
  if (src[k + 1] !== '(') return undefined;
  DEST.lastIndex = k + 2;
  const m = DEST.exec(src);
  if (!m) return undefined;
  const label = src.slice(open + 1, k);
  if (open > i) return [label, DEST.lastIndex];
  const href = safeHref((m[1] ?? m[2]!).replace(/\\([!-\/:-@[-`{-~])/g, '$1'));
  const kids = parseInline(label);
  return [href ? anchor(href, kids.length ? kids : href) : kids, DEST.lastIndex];
}

function autolink(src: string, i: number): Match | undefined {
  AUTOLINK.lastIndex = EMAIL.lastIndex = i;
  const m = AUTOLINK.exec(src);
  const mail = m ? undefined : EMAIL.exec(src);
  const href = m ? safeHref(m[1]!) : mail && safeHref('mailto:' + mail[1]);
  return href ? [anchor(href, (m ?? mail)![1]), (m ? AUTOLINK : EMAIL).lastIndex] : undefined;
}

/** GFM autolink literal: a bare http(s) URL at the start of a word; trailing punctuation is not part of it. */
function bare(src: string, i: number): Match | undefined {
  BARE.lastIndex = i;
  if (i && !/[\s(*_~]/.test(src[i - 1]!)) return undefined;
  let url = BARE.exec(src)?.[0];
  if (!url) return undefined;
  if (src[i + url.length] === ')' && url.split('(').length > url.split(')').length) url += ')';
  const href = safeHref(url);
  return href ? [anchor(href, url), i + url.length] : undefined;
}

function anchor(href: string, kids: ComponentChild): ComponentChild {
  return h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, kids);
}
