import { defineConfig, type Plugin } from 'vite';

/**
 * styles.ts keeps one rule per line for reading; the build takes the line breaks out of the
 * stylesheet's text, where each would cost a two-character `\n` in widget.js (issue 4's budget).
 * A backslash before each line break makes it a line continuation, which a template literal
 * drops from its value: the file keeps its lines and columns, so the source map stays right.
 */
const cssWithoutLineBreaks: Plugin = {
  name: 'chatdrop-css-without-line-breaks',
  enforce: 'pre',
  transform(code, id) {
    if (!id.endsWith('/src/styles.ts')) return;
    // After `{`, `}`, `;` or `,` (or at either end) a line break means nothing; anywhere else it
    // may separate two selectors (a descendant combinator), so a space stays in its place.
    const flat = (css: string) =>
      css.replace(/\n/g, (_, at: number) => (at === 0 || at === css.length - 1 || '{};,'.includes(css[at - 1]!) ? '\\\n' : ' \\\n'));
    return { code: code.replace(/(const CSS = `)([^`]*)`/, (_, head: string, css: string) => `${head}${flat(css)}\``), map: null };
  },
};

/**
 * One self-contained `widget.js`: an IIFE with no exports, so the bundle itself adds no global
 * (the only global is `window.Chatdrop`, set by `main.ts`), and no CSS file (styles are
 * constructed stylesheets inside the shadow root).
 */
export default defineConfig({
  plugins: [cssWithoutLineBreaks],
  // Classic `h(type, props, ...children)` calls: shorter than the automatic runtime's
  // `jsx(type, { ...props, children })` at every element, about 200 bytes gzipped (issue 4's budget).
  oxc: {
    jsx: { runtime: 'classic', pragma: 'h', pragmaFrag: 'Fragment' },
  },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // The map is for us, not the page: the server does not serve it, so no sourceMappingURL comment.
    sourcemap: 'hidden',
    modulePreload: false,
    // Terser's extra passes beat the default minifier by about 150 bytes gzipped. No `toplevel`:
    // Vite sets it itself (only for cjs), and inside the IIFE every name is local and mangled
    // anyway. `safari10: false`: Vite turns on Safari 10 workarounds by default, which cost bytes
    // for a browser that cannot run the widget (constructed stylesheets need Safari 16.4).
    // `unsafe_methods` only turns object-literal functions into methods (none is called with
    // `new`); no `pure_getters`: reading `signal.value` subscribes (Markdown relies on it).
    minify: 'terser',
    terserOptions: {
      ecma: 2020,
      safari10: false,
      compress: { passes: 5, unsafe_methods: true, negate_iife: false },
      // Properties named `_x` are our own (the markdown parser's blocks and delimiters: no
      // dependency in widget.js uses such names, and none is reached through a string), so they
      // can be as short as local names (about 300 bytes gzipped).
      mangle: { properties: { regex: /^_[a-z]/ } },
      format: { comments: false },
    },
    rolldownOptions: {
      input: 'src/main.ts',
      output: {
        format: 'iife',
        entryFileNames: 'widget.js',
      },
    },
  },
});
