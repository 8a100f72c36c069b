import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * helmet on every response (issue 2/5), with its defaults loosened only where embedding needs it:
 *
 * - `Cross-Origin-Resource-Policy` stays `same-origin` here; `widget-route.ts` sets `cross-origin`
 *   on the widget's files alone (`/widget.js`, `/widget/*`), because other sites load them with a
 *   plain `<script>` tag and `import()`. API
 *   answers need nothing: CORP is not applied to CORS requests, CORS governs those.
 * - CSP is helmet's default for the demo page (`script-src 'self'`, no inline scripts), minus
 *   `upgrade-insecure-requests`: the server is often run over plain http on a LAN or in a dev box,
 *   where upgrading would break every request; TLS belongs to the proxy in front of it.
 * - `connect-src 'self'` (through `default-src`) suffices: the demo page talks to its own server.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: { upgradeInsecureRequests: null },
    },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
}
