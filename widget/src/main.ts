import { mountWidget } from './mount-widget.js';
import type { PanelModule } from './panel-host.js';
import type { Strings } from './strings.js';

/*
 * widget.js, the loader the embed snippet loads (contract: "The embed"). No exports: the IIFE adds
 * no global of its own; the only one is window.Chatdrop, set by mountWidget.
 *
 * Calls made before this script loads are queued by this stub and replayed (see chatdrop-api.ts):
 *
 *   <script>
 *     window.Chatdrop = window.Chatdrop || { q: [] };
 *     ['open', 'close', 'toggle', 'send', 'reset', 'destroy', 'on'].forEach(function (m) {
 *       window.Chatdrop[m] = window.Chatdrop[m] || function () {
 *         window.Chatdrop.q.push([m, [].slice.call(arguments)]);
 *       };
 *     });
 *   </script>
 */

/** The chunks' content-hashed names, relative to widget.js, filled in by the build (vite.config.ts). */
declare const __CHATDROP_CHUNKS__: { panel: string; strings: Record<string, string> };

// Captured now: document.currentScript is only set while this script first runs.
const script =
  (document.currentScript as HTMLScriptElement | null) ??
  document.querySelector<HTMLScriptElement>('script[src$="widget.js"]');

/*
 * The panel is an ES module chunk, loaded with a dynamic import() from widget.js's own origin
 * (data-api moves only the API). Of the ways a chunk can reach the loader, this one adds nothing to
 * the page: no second global for the chunk to register with, no <script> element, and the module's
 * exports come straight back as import()'s value. A page's CSP needs nothing beyond `script-src`
 * for our origin, which the loader already needs (module scripts are checked against script-src
 * like classic ones). The chunk is fetched in CORS mode, hence `Access-Control-Allow-Origin: *`
 * on the widget's files (widget-route.ts). The URL is made absolute from the script's own URL:
 * browsers have disagreed about the base of a relative import() in a classic script.
 */
const chunk = (name: string) => import(/* @vite-ignore */ new URL(name, script?.src || location.href).href);

const chunks = __CHATDROP_CHUNKS__;
let attempt = 0;

const start = () => {
  // Loaded twice (a site pasted the snippet twice): one widget is enough.
  if (document.querySelector('chatdrop-widget')) return;
  mountWidget(script, (lang) => {
    // A browser may keep a failed module fetch in its module map and fail every later import()
    // of that URL (whatwg/html#6768): after a failure (offline), each try asks for a URL of its
    // own. The server ignores the query.
    const retry = attempt++ ? `?retry=${attempt}` : '';
    return Promise.all([
      chunk(chunks.panel + retry) as Promise<PanelModule>,
      // English is in the panel; another language's table is a chunk of its own.
      lang in chunks.strings ? chunk(chunks.strings[lang]! + retry).then((m: { default: Strings }) => m.default) : undefined,
    ]);
  });
};

if (document.body) start();
else document.addEventListener('DOMContentLoaded', start, { once: true });
