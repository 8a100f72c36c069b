import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

/**
 * The build's budgets, in bytes gzipped as the server sends them (the build's `.gz` copy, written
 * by zopfli; zlib's -9 is printed beside it): what every page pays (the loader) and what a visitor
 * who opens the chat pays on top (the panel, and a language's strings beside it).
 */
const LOADER_BUDGET = 3 * 1024;
const PANEL_BUDGET = 20 * 1024;
const dist = resolve(import.meta.dirname, '../dist');

interface Manifest {
  entry: string;
  files: string[];
  previous: string[];
}

function manifest(): Manifest {
  const file = resolve(dist, 'manifest.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: build it first (cd widget && npx vite build, or pnpm test which builds)`);
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}
const read = (name: string) => readFileSync(resolve(dist, name));
/** The bytes a gzip-only browser receives: the build's own `.gz` copy, checked to be the file. */
const gzipped = (name: string) => {
  const sent = read(`${name}.gz`);
  expect(gunzipSync(sent).equals(read(name)), `${name}.gz inflates to ${name}`).toBe(true);
  return sent.length;
};
const gzip9 = (name: string) => gzipSync(read(name), { level: 9 }).length;

describe('bundle size', () => {
  it(`the loader, widget.js, is at most ${LOADER_BUDGET} bytes gzipped`, () => {
    const { entry } = manifest();
    const size = gzipped(entry);
    console.log(`widget.js (loader): ${read(entry).length} bytes, ${size} bytes gzipped as sent, ${gzip9(entry)} at zlib -9 (budget ${LOADER_BUDGET}, aim 2560)`);
    expect(size, `widget.js is ${size} bytes gzipped, over the ${LOADER_BUDGET} byte budget`).toBeLessThanOrEqual(LOADER_BUDGET);
  });

  it(`the panel chunk is at most ${PANEL_BUDGET} bytes gzipped`, () => {
    const panel = manifest().files.find((f) => f.startsWith('widget/panel-'))!;
    const size = gzipped(panel);
    const strings = manifest().files.filter((f) => f.startsWith('widget/strings-')).map((f) => `${f.slice(7)} ${gzipped(f)}`);
    console.log(`${panel}: ${read(panel).length} bytes, ${size} bytes gzipped as sent, ${gzip9(panel)} at zlib -9 (budget ${PANEL_BUDGET}); strings: ${strings.join(', ')}`);
    expect(size, `the panel is ${size} bytes gzipped, over the ${PANEL_BUDGET} byte budget`).toBeLessThanOrEqual(PANEL_BUDGET);
  });
});

describe('the build', () => {
  it('is the stable loader plus content-hashed chunks: the panel and one strings table per language besides English', () => {
    const { entry, files } = manifest();
    expect(entry).toBe('widget.js');
    expect(files[0]).toBe('widget.js');
    const hashed = files.slice(1);
    for (const file of hashed) expect(file).toMatch(/^widget\/(panel|strings-[a-z]{2,3})-[\w-]{8}\.js$/);
    expect(hashed.map((f) => f.replace(/-[\w-]{8}\.js$/, '')).sort()).toEqual(['widget/panel', 'widget/strings-ar', 'widget/strings-es']);
    // The loader names exactly these chunks.
    const loader = read(entry).toString();
    for (const file of hashed) expect(loader).toContain(`"${file}"`);
  });

  it('writes brotli and gzip copies of every file, each the same bytes once decompressed', () => {
    for (const file of manifest().files) {
      const body = read(file);
      expect(gunzipSync(read(`${file}.gz`)).equals(body), `${file}.gz`).toBe(true);
      expect(brotliDecompressSync(read(`${file}.br`)).equals(body), `${file}.br`).toBe(true);
      expect(read(`${file}.br`).length).toBeLessThan(body.length);
    }
  });

  it('the loader is a classic script: one IIFE, no module syntax but import(), no global of its own', () => {
    const code = read('widget.js').toString();
    expect(code.startsWith('(function(){') || code.startsWith('(()=>{')).toBe(true);
    expect(/(^|[;}])\s*(import|export)\s*[\w{*"']/.test(code)).toBe(false);
    expect(/\bimport\(/.test(code)).toBe(true);
  });

  it('the chunks are self-contained ES modules: no import of another chunk (no second request in series)', () => {
    for (const file of manifest().files.slice(1)) {
      const code = read(file).toString();
      expect(/(^|[;}])\s*import\s*[\w{*"']|\bimport\s*\(/.test(code), `${file} imports nothing`).toBe(false);
      expect(/export\s*\{[^}]+\}\s*;?\s*$/.test(code), `${file} ends with its exports`).toBe(true);
    }
  });

  it('adds no inline HTML or style strings anywhere', () => {
    for (const file of manifest().files) {
      const code = read(file).toString();
      // Preact's own dangerouslySetInnerHTML support is the only innerHTML in the panel; the widget never uses it.
      expect(/dangerouslySetInnerHTML:|style="|insertAdjacentHTML|outerHTML\s*=|document\.write/.exec(code)?.[0], file).toBeUndefined();
    }
    expect(/innerHTML/.test(read('widget.js').toString())).toBe(false);
  });
});
