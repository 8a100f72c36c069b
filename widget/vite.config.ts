import { defineConfig } from 'vite';

/**
 * One self-contained `widget.js`: an IIFE with no exports, so the bundle itself adds no global
 * (the only global is `window.Chatdrop`, set by `main.ts`), and no CSS file (styles are
 * constructed stylesheets inside the shadow root).
 */
export default defineConfig({
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    modulePreload: false,
    rolldownOptions: {
      input: 'src/main.ts',
      output: {
        format: 'iife',
        entryFileNames: 'widget.js',
        inlineDynamicImports: true,
      },
    },
  },
});
