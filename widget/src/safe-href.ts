const ALLOWED = /^(https?|mailto):/i;

/**
 * The href to give a link from model text (or from the server's config), or undefined when it
 * must render as plain text. Allowlist, not blocklist (issue 4: only http, https and mailto). The
 * scheme is checked on the raw text before any parsing, so `java\tscript:`, `\u0001javascript:`
 * and `&#106;avascript:` fail (nothing here decodes entities, and a URL parser would silently drop
 * the tab); the URL parser then has to agree, and its normalised serialisation is what goes into
 * the DOM, so the browser navigates to exactly what was checked.
 */
export function safeHref(raw: string): string | undefined {
  const text = raw.trim();
  if (ALLOWED.test(text) && !/[\s\0-\x1f\x7f]/.test(text)) {
    try {
      const url = new URL(text);
      if (ALLOWED.test(url.protocol)) return url.href;
    } catch {
      // Not a URL (e.g. `https://[`): shown as text.
    }
  }
}
