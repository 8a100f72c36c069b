/**
 * Character references (CommonMark §6.2). Numeric ones cover every code point. Named ones: the
 * HTML5 table has 2,231 names, about 10 KB gzipped, several times this renderer's whole size
 * budget, so we keep the ones people (and models) actually write: markup characters, spaces,
 * quotes, dashes, arrows and a few signs. Any other name (`&HilbertSpace;`, `&ouml;`) stays as
 * written, which is what CommonMark does with a name it does not know. Each entry is a name and
 * its one-character value.
 */
const NAMED = new Map(
  Array.from("amp&lt<gt>quot\"apos'nbsp\u00a0copy©reg®trade™hellip…mdash—ndash–lsquo‘rsquo’ldquo“rdquo”bull•deg°times×rarr→larr←euro€".matchAll(/(\w+)(\W)/g), ([, name, value]) => [name!, value!]),
);

/**
 * The text of the reference `&body;`, or undefined when `body` names nothing we know (then the
 * source stays as written). `#x1F` and `#31` read as the numbers `0x1F` and `031` do. A numeric
 * reference to nothing (0, a surrogate, past U+10FFFF) is U+FFFD, as the spec says.
 */
export function decodeEntity(body: string): string | undefined {
  const code = +('0' + body.slice(1));
  return body[0] != '#' ? NAMED.get(body) : String.fromCodePoint(code && code < 0x110000 && (code < 0xd800 || code > 0xdfff) ? code : 0xfffd);
}
