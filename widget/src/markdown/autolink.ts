import { step } from './work.js';

/**
 * GFM's extended autolinks (GFM §6.9): `www.` and `http(s)://` addresses and bare email addresses
 * in running text, found where they start (at the start of the text, after whitespace or after
 * `*`, `_`, `~` or `(`) without a regex that could backtrack over the rest of the line.
 */

/** One or more periods between runs of letters, digits, `_` and `-` (the runs cannot overlap). */
const DOMAIN = /[\w-]+(?:\.[\w-]+)+/y;
const START = /https?:\/\/|www\./y;

/**
 * The end and href of a `www.` or `http(s)://` autolink starting at `i`, or undefined. Trailing
 * punctuation (`?!.,:*_~'"`), a `)` without its `(`, and an entity-like `&name;` at the end are
 * left out of the link (GFM's extended autolink path validation).
 */
export function urlAutolink(s: string, i: number): [end: number, href: string] | undefined {
  START.lastIndex = i;
  const scheme = START.exec(s)?.[0];
  if (!scheme) return;
  const at = scheme[0] == 'w' ? i : i + scheme.length;
  if (!domainAt(s, at)) return;
  let end = DOMAIN.lastIndex;
  let parens = 0;
  for (; end < s.length && !/[\s<]/.test(s[end]!); end++) {
    step();
    parens += +(s[end] == '(') - +(s[end] == ')');
  }
  for (;;) {
    const c = s[end - 1]!;
    let k = end - 2;
    if (/[?!.,:*_~'"]/.test(c)) end--;
    else if (c == ')' && parens < 0) {
      end--;
      parens++;
    } else if (c == ';') {
      while (k > at && /[a-z\d]/i.test(s[k]!)) k--;
      if (s[k] != '&' || k == end - 2) break;
      end = k;
    } else break;
  }
  const text = s.slice(i, end);
  return [end, at == i ? 'http://' + text : text];
}

/** Whether a valid domain starts at `i`: no underscore in its last two labels. DOMAIN.lastIndex is its end. */
function domainAt(s: string, i: number): boolean {
  DOMAIN.lastIndex = i;
  const labels = DOMAIN.exec(s)?.[0].split('.');
  return !!labels && !/_/.test(labels.slice(-2).join());
}

/**
 * An email autolink around the `@` at `at`: its start (the local part may begin no earlier than
 * `from`, where the current run of text begins), end and href, or undefined. The local part has a
 * letter or digit; the domain has a period and does not end in `-` or `_`; a final period is left
 * out. A `mailto:` before it is part of the link; an `xmpp:` address (with one `/resource`) is one
 * too in GFM, and shows as text here like every scheme we do not link (no href).
 */
export function emailAutolink(s: string, at: number, from: number): [start: number, end: number, href?: string] | undefined {
  let start = at;
  while (start > from && /[\w.+-]/.test(s[start - 1]!)) {
    step();
    start--;
  }
  if (!/[a-z\d]/i.test(s.slice(start, at)) || !domainAt(s, at + 1)) return;
  let end = DOMAIN.lastIndex;
  if (/[-_]/.test(s[end - 1]!)) return;
  const scheme = /(mailto|xmpp):$/.exec(s.slice(Math.max(from, start - 7), start))?.[1];
  if (scheme == 'xmpp') {
    RESOURCE.lastIndex = end;
    return [start - 5, RESOURCE.exec(s) ? RESOURCE.lastIndex : end];
  }
  return [scheme ? start - 7 : start, end, 'mailto:' + s.slice(start, end)];
}

const RESOURCE = /\/[\w@.]+/y;
