import { defineConfig } from 'vite';
import { helpCentre } from './help-centre.js';

/**
 * The demo page, built to `demo/dist`, which the server serves at `/` under a strict CSP: so no
 * inline script or style may appear in the output (the modulepreload polyfill is off, and the
 * page's CSS and script are files). `/widget.js` is the server's, not part of this build. The
 * help centre's articles, sitemap and robots.txt come from `help-centre.ts`.
 */
export default defineConfig({
  plugins: [helpCentre()],
  build: {
    target: 'es2020',
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
