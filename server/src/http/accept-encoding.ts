/** The content codings the widget's files come in (the build writes a brotli and a gzip copy of each). */
export type Coding = 'br' | 'gzip' | 'identity';

/** Best first: on equal weight brotli wins (smaller), then gzip. */
const PREFERENCE: readonly Coding[] = ['br', 'gzip', 'identity'];
/** RFC 9110 §12.4.2: a weight is 0 to 1 with at most three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
/**
 * `identity` is acceptable unless the header excludes it, but a coding the client names is what it
 * asked for: unnamed identity weighs less than any named coding.
 */
const UNNAMED_IDENTITY = 0.0001;

/**
 * The coding to answer with, from a request's `Accept-Encoding` (RFC 9110 §12.5.3), weights
 * honoured: `br;q=0, gzip` is gzip, `gzip;q=0.5, br` is brotli, `*;q=0.1` applies to the codings the
 * header does not name, `x-gzip` is gzip. No header or an empty one is identity, and so is a header
 * that excludes everything: a `<script>` cannot act on a 406, and the uncompressed file is still
 * the right answer for it. Linear in the header's length (one split, no backtracking).
 */
export function pickCoding(header: string | undefined): Coding {
  if (!header) return 'identity';
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [rawName = '', ...params] = part.split(';');
    let name = rawName.trim().toLowerCase();
    if (!name) continue;
    if (name === 'x-gzip') name = 'gzip';
    let q = 1;
    for (const param of params) {
      const [key = '', value = ''] = param.split('=');
      if (key.trim().toLowerCase() !== 'q') continue;
      q = QVALUE.test(value.trim()) ? Number(value.trim()) : NaN;
    }
    // A malformed weight makes the entry meaningless: ignore it rather than guess.
    if (!Number.isNaN(q)) weights.set(name, Math.max(q, weights.get(name) ?? 0));
  }
  const weight = (coding: Coding): number =>
    weights.get(coding) ?? weights.get('*') ?? (coding === 'identity' ? UNNAMED_IDENTITY : 0);
  let best: Coding = 'identity';
  let bestWeight = 0;
  for (const coding of PREFERENCE) {
    const w = weight(coding);
    if (w > bestWeight) [best, bestWeight] = [coding, w];
  }
  return best;
}
