import { defineConfig } from 'vite';

/**
 * The support inbox page, built to `server/inbox-ui/dist`, which the server serves at `/inbox`
 * under its own strict CSP (`server/src/inbox/inbox-page-route.ts`): so nothing inline in the
 * output (no modulepreload polyfill, no inlined assets), and Trusted Types hold (Preact writes
 * text and attributes, never HTML). It shares the widget's markdown renderer, imported from
 * `widget/src` through `src/reply-markdown.tsx`, and with it the widget's classic `h` JSX.
 */
export default defineConfig({
  base: '/inbox/',
  oxc: {
    jsx: { runtime: 'classic', pragma: 'h', pragmaFrag: 'Fragment' },
  },
  // The widget's files import Preact from the widget's folder: one copy for both (pnpm links
  // them to the same files; this makes sure of it).
  resolve: { dedupe: ['preact', '@preact/signals'] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
