const ALLOWED = /^(https?:|mailto:)/i;

/**
 * The href to give a link from model text, or undefined when it must render as plain text.
 * Allowlist, not blocklist (issue 4: only http, https and mailto). The scheme is checked on the raw
 * text before any parsing, so `java\tscript:`, `\u0001javascript:` and `&#106;avascript:` fail
 * (nothing here decodes entities, and a URL parser would silently drop the tab); the URL parser
 * then has to agree, and its normalised serialisation is what goes into the DOM, so the browser
 * navigates to exactly what was checked.
 */
export function safeHref(raw: string): string | undefined {
  const text = raw.trim();
  if (!ALLOWED.test(text) || /[\s\u0000-\u001f\u007f]/.test(text)) return undefined;
  try {
    const url = new URL(text);
    return ALLOWED.test(url.protocol) ? url.href : undefined;
  } catch {
    return undefined;
  }
}
