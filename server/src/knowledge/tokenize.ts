import { stemmer } from 'stemmer';

/**
 * The search terms of a text, used alike for indexing a passage and for a question, so both
 * sides meet on the same terms whichever backend ranks them (SQLite FTS5 or the in-memory index
 * on Redis): lowercased, accents removed (NFKD, then combining marks dropped), English stop words
 * dropped, Porter-stemmed ("passwords", "password" -> "password"; "invoices" -> "invoic").
 *
 * Crawled text is hostile, so this is one linear pass: a single-character-class regex (no nested
 * quantifiers) finds the words, and a word longer than `MAX_WORD` is cut before stemming (the
 * stemmer's regexes then run on at most 32 characters; nothing real is longer).
 */
const WORD = /[\p{L}\p{N}]+/gu;
const MARKS = /\p{M}+/gu;
const MAX_WORD = 32;

// The common English function words plus question words: they would match every passage and
// carry no topic. Kept short on purpose: "not", "no", "new", "free" can matter in a help centre.
const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have he her him his how i if in ' +
    'into is it its me my of on or our she so than that the their them then there these they this those to ' +
    'us was we were what when where which who why will with would you your yours im ive id dont doesnt ' +
    'don doesn isn aren wasn didn won ' +
    'about also am any just please should some tell thanks thank hi hello get got want need like much many'
  ).split(' '),
);

export function terms(text: string): string[] {
  const out: string[] = [];
  const folded = text.normalize('NFKD').replace(MARKS, '').toLowerCase();
  for (const match of folded.matchAll(WORD)) {
    const word = match[0].length > MAX_WORD ? match[0].slice(0, MAX_WORD) : match[0];
    // Apostrophes split "don't" into "don" + "t": single letters carry nothing.
    if (word.length < 2 && !/\d/.test(word)) continue;
    if (STOP_WORDS.has(word)) continue;
    out.push(stemmer(word));
  }
  return out;
}

/**
 * What a passage is found by: its page title and heading weigh twice (they name the topic), its
 * text once. Shared with the Redis backend so both rank the same terms.
 */
export function indexTerms(title: string, heading: string, text: string): string {
  const head = terms(`${title} ${heading}`);
  return [...head, ...head, ...terms(text)].join(' ');
}
