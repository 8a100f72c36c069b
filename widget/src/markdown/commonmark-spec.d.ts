/** npm `commonmark-spec` ships no types: its examples, as its index.js extracts them from spec.txt. */
declare module 'commonmark-spec' {
  const spec: { tests: { markdown: string; html: string; section: string; number: number }[] };
  export default spec;
}
