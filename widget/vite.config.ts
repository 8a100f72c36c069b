import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { gzipAsync } from '@gfx/zopfli';
import { build, defineConfig, type Plugin, type UserConfig } from 'vite';

/**
 * The widget is two builds into `dist/`:
 *
 * - the panel (this config): Preact, the conversation, the dialog, as ES module chunks with
 *   content-hashed names under `dist/widget/`: `panel-<hash>.js`, and `strings-<lang>-<hash>.js`
 *   for each language besides English, so a page pays only for its own language;
 * - then the loader (`widget.js`, the stable URL site owners paste; see `loaderBuild`): a classic
 *   script with no framework that draws the launcher and imports the panel on intent. It is built
 *   second because it carries the panel's hashed names.
 *
 * Last, every file gets brotli and gzip copies beside it, and `dist/manifest.json` lists what the
 * server may serve (widget-route.ts): nothing else under `dist/` is reachable. The hashed files of
 * the previous build stay (and stay listed) for one more build, so a page still running the
 * previous loader (cached for up to 5 minutes) can load the panel it asks for after a deploy.
 */

/**
 * styles.ts keeps one rule per line for reading; the build takes the line breaks out of the
 * stylesheet's text, where each would cost a two-character `\n` in the bundle. A backslash before
 * each line break makes it a line continuation, which a template literal drops from its value:
 * the file keeps its lines and columns, so the source map stays right.
 */
const cssWithoutLineBreaks: Plugin = {
  name: 'chatdrop-css-without-line-breaks',
  enforce: 'pre',
  transform(code, id) {
    if (!/\/src\/(launcher-)?styles\.ts$/.test(id)) return;
    // After `{`, `}`, `;` or `,` (or at either end) a line break means nothing; anywhere else it
    // may separate two selectors (a descendant combinator), so a space stays in its place.
    const flat = (css: string) =>
      css.replace(/\n/g, (_, at: number) => (at === 0 || at === css.length - 1 || '{};,'.includes(css[at - 1]!) ? '\\\n' : ' \\\n'));
    return { code: code.replace(/(const CSS = `)([^`]*)`/, (_, head: string, css: string) => `${head}${flat(css)}\``), map: null };
  },
};

/** Languages with a table of their own (strings-<lang>.ts); English is in the panel. */
const LANGUAGES = ['es', 'ar'];

/** What both builds share. */
const common = {
  // @preact/signals looks for its browser extension's hook on every component update; the
  // widget on someone else's page is never debugged through it, so the check folds away.
  define: { 'window.__PREACT_SIGNALS_DEVTOOLS__': 'undefined' },
  // Classic `h(type, props, ...children)` calls: shorter than the automatic runtime's
  // `jsx(type, { ...props, children })` at every element, about 200 bytes gzipped.
  oxc: { jsx: { runtime: 'classic', pragma: 'h', pragmaFrag: 'Fragment' } },
  build: {
    target: 'es2022',
    emptyOutDir: false,
    // The maps are for us, not the page: the server does not serve them, and no file names one.
    sourcemap: 'hidden',
    modulePreload: false,
    // Terser's extra passes beat the default minifier by about 150 bytes gzipped per bundle.
    // `safari10: false`: Vite turns on Safari 10 workarounds by default, which cost bytes for a
    // browser that cannot run the widget (constructed stylesheets need Safari 16.4). ES chunks
    // are minified as modules (Vite sets `module`), so their top-level names are mangled too.
    // `unsafe_methods` only turns object-literal functions into methods (none is called with
    // `new`); no `pure_getters`: reading `signal.value` subscribes (Markdown relies on it).
    minify: 'terser',
    terserOptions: {
      ecma: 2020,
      safari10: false,
      // An even number of passes: each pass `unsafe_methods` turns `k: () => x` into `k() { return x }`
      // and `arrows` turns it back, so an odd count ends on the longer form (panel: 121 bytes raw).
      compress: { passes: 4, unsafe_methods: true, negate_iife: false },
      // Properties named `_x` are our own (the markdown parser's blocks and delimiters: no
      // dependency in widget.js uses such names, and none is reached through a string), so they
      // can be as short as local names (about 300 bytes gzipped).
      mangle: { properties: { regex: /^_[a-z]/ } },
      format: { comments: false },
    },
  },
} satisfies UserConfig;

interface Manifest {
  /** The stable entry, revalidated by browsers every few minutes. */
  entry: 'widget.js';
  /** Every file of this build, entry first; all but the entry have content-hashed names. */
  files: string[];
  /** The previous build's hashed files, still served (never linked by this build's loader). */
  previous: string[];
}

/**
 * The loader: one self-contained classic script, an IIFE with no exports, so the bundle itself
 * adds no global (the only one is `window.Chatdrop`, set by mount-widget.ts) and no CSS file.
 */
function loaderBuild(root: string, outDir: string, chunks: { panel: string; strings: Record<string, string> }) {
  return build({
    configFile: false,
    root,
    logLevel: 'warn',
    plugins: [cssWithoutLineBreaks],
    ...common,
    define: { __CHATDROP_CHUNKS__: JSON.stringify(chunks) },
    build: {
      ...common.build,
      outDir,
      rolldownOptions: { input: join(root, 'src/main.ts'), output: { format: 'iife', entryFileNames: 'widget.js' } },
    },
  });
}

const delivery = (): Plugin => {
  let root = '';
  let outDir = '';
  let previous: string[] = [];
  let chunks: { panel: string; strings: Record<string, string> } | undefined;
  return {
    name: 'chatdrop-delivery',
    apply: 'build',
    configResolved(config) {
      root = config.root;
      outDir = resolve(config.root, config.build.outDir);
    },
    buildStart() {
      try {
        const last = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as Manifest;
        previous = last.files.filter((f) => f !== last.entry && existsSync(join(outDir, f)));
      } catch {
        previous = [];
      }
    },
    generateBundle(_, bundle) {
      const strings: Record<string, string> = {};
      let panel = '';
      for (const file of Object.values(bundle)) {
        if (file.type !== 'chunk') continue;
        // A shared chunk would be a second request after the panel's, in series: none allowed.
        if (!file.isEntry) this.error(`unexpected shared chunk ${file.fileName}: the panel must be one file`);
        if (file.name === 'panel') panel = file.fileName;
        else strings[file.name.replace('strings-', '')] = file.fileName;
      }
      chunks = { panel, strings };
    },
    async writeBundle() {
      if (!chunks) return;
      await loaderBuild(root, outDir, chunks);
      const files = ['widget.js', chunks.panel, ...Object.values(chunks.strings)];
      const kept = previous.filter((f) => !files.includes(f));
      for (const file of files) {
        const body = readFileSync(join(outDir, file));
        // Zopfli writes ordinary gzip (any browser inflates it) about 3% smaller than zlib's -9:
        // what gzip-only clients are sent, compressed once at build time.
        writeFileSync(join(outDir, `${file}.gz`), await gzipAsync(body, { numiterations: 15 }));
        writeFileSync(
          join(outDir, `${file}.br`),
          brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
        );
      }
      // Older hashed files (two builds back, or from `vite build --watch` rebuilds) go.
      const live = new Set([...files, ...kept].flatMap((f) => [f, `${f}.gz`, `${f}.br`, `${f}.map`]));
      for (const name of readdirSync(join(outDir, 'widget'))) {
        const file = relative(outDir, join(outDir, 'widget', name));
        if (!live.has(file)) rmSync(join(outDir, file));
      }
      const manifest: Manifest = { entry: 'widget.js', files, previous: kept };
      writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    },
  };
};

export default defineConfig({
  plugins: [cssWithoutLineBreaks, delivery()],
  ...common,
  build: {
    ...common.build,
    outDir: 'dist',
    rolldownOptions: {
      input: { panel: 'src/mount-panel.tsx', ...Object.fromEntries(LANGUAGES.map((l) => [`strings-${l}`, `src/strings-${l}.ts`])) },
      // The panel's `mount` and each table's default export are what the loader imports.
      preserveEntrySignatures: 'strict',
      output: { format: 'es', entryFileNames: 'widget/[name]-[hash].js', chunkFileNames: 'widget/[name]-[hash].js' },
    },
  },
});
