import { defineConfig } from 'vite';

/**
 * The demo page, built to `demo/dist`, which the server serves at `/` under a strict CSP: so no
 * inline script or style may appear in the output (the modulepreload polyfill is off, and the
 * page's CSS and script are files). `/widget.js` is the server's, not part of this build.
 */
export default defineConfig({
  build: {
    target: 'es2020',
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
