import { mountWidget } from './mount-widget.js';

/*
 * widget.js, loaded by the embed snippet (contract: "The embed"). No exports: the IIFE adds no
 * global of its own; the only one is window.Chatdrop, set by mountWidget.
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

// Captured now: document.currentScript is only set while this script first runs.
const script =
  (document.currentScript as HTMLScriptElement | null) ??
  document.querySelector<HTMLScriptElement>('script[src$="widget.js"]');

const start = () => {
  // Loaded twice (a site pasted the snippet twice): one widget is enough.
  if (!document.querySelector('chatdrop-widget')) mountWidget(script);
};

if (document.body) start();
else document.addEventListener('DOMContentLoaded', start, { once: true });
