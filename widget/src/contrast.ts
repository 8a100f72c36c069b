/**
 * Text colour for the accent: whichever of black or white contrasts more with it, by WCAG 2.x
 * relative luminance. One of the two always reaches at least 4.58:1, so any accent a site picks
 * keeps its button labels at AA (4.5:1).
 */

/** Parses `#rgb` or `#rrggbb`; anything else (names, rgb(), garbage) is undefined. */
export function parseHex(color: string): [number, number, number] | undefined {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim());
  if (!m?.[1]) return undefined;
  const hex = m[1].length === 3 ? m[1].replace(/./g, '$&$&') : m[1];
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** WCAG relative luminance, 0 (black) to 1 (white). */
export function luminance([r, g, b]: [number, number, number]): number {
  const lin = (c: number) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrastRatio(a: [number, number, number], b: [number, number, number]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * Black wins when (L + 0.05) / 0.05 >= 1.05 / (L + 0.05), that is when L >= sqrt(0.0525) - 0.05
 * = 0.17913 (to five places; both ratios are 4.58 there, so the rounding cannot matter): the same
 * choice as comparing both ratios, without computing them in the bundle.
 */
export function textColorOn(rgb: [number, number, number]): '#000' | '#fff' {
  return luminance(rgb) >= 0.17913 ? '#000' : '#fff';
}
