import { step } from './work.js';

/**
 * GFM's extended autolinks (GFM §6.9): `www.` and `http(s)://` addresses and bare email addresses
 * in running text, found where they start (at the start of the text, after whitespace or after
 * `*`, `_`, `~` or `(`) without a pattern that could backtrack over the rest of the line.
 */

/** One or more periods between runs of letters, digits, `_` and `-` (the runs cannot overlap). */
const DOMAIN = /[\w-]+(?:\.[\w-]+)+/y;
/**
 * A scheme or `www.` and a domain; the rest, up to a space or `<`, is read only once the domain is
 * valid (read before, every `(www._` would read on to the next space: quadratic).
 */
const URL = /(https?:\/\/|(?=www\.))([\w-]+(?:\.[\w-]+)*)/y;
const REST = /[^\s<]*/y;

/** Whether `domain` is valid: a period, and no `_` in its last two labels. */
const valid = (domain = '') => /\./.test(domain) && !/_/.test(domain.split('.').slice(-2).join());

/**
 * The end and href of a `www.` or `http(s)://` autolink starting at `i`, or undefined. Trailing
 * punctuation (`?!.,:*_~'"`), a `)` without its `(`, and an entity-like `&name;` at the end are
 * left out of the link (GFM's extended autolink path validation).
 */
export function urlAutolink(s: string, i: number): [end: number, href: string] | undefined {
  URL.lastIndex = i;
  const m = URL.exec(s);
  if (!m || !valid(m[2])) return;
  REST.lastIndex = URL.lastIndex;
  REST.test(s);
  let end = REST.lastIndex;
  let parens = 0;
  for (const c of s.slice(i, end)) parens += +(c == '(') - +(c == ')');
  for (let c, k; (c = s[end - 1]!); ) {
    step();
    if (/[?!.,:*_~'"]/.test(c) || (c == ')' && parens++ < 0)) end--;
    else if (c == ';') {
      for (k = end - 2; /[a-z\d]/i.test(s[k]!); k--) step();
      if (s[k] != '&' || k == end - 2) break;
      end = k;
    } else break;
  }
  const text = s.slice(i, end);
  return [end, (m[1] ? '' : 'http://') + text];
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
  DOMAIN.lastIndex = at + 1;
  const domain = DOMAIN.exec(s)?.[0];
  if (!/[a-z\d]/i.test(s.slice(start, at)) || !valid(domain) || /[-_]$/.test(domain!)) return;
  const end = DOMAIN.lastIndex;
  const scheme = /(mailto|xmpp):$/.exec(s.slice(Math.max(from, start - 7), start))?.[1];
  if (scheme == 'xmpp') {
    RESOURCE.lastIndex = end;
    return [start - 5, RESOURCE.test(s) ? RESOURCE.lastIndex : end];
  }
  return [scheme ? start - 7 : start, end, 'mailto:' + s.slice(start, end)];
}

const RESOURCE = /\/[\w@.]+/y;
