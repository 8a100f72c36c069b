/**
 * The loader's stylesheet: the host, the launcher, and the focus and icon rules the panel
 * shares. The panel adds its own sheet beside it when it mounts (styles.ts), with the rest of
 * what its buttons look like: every page pays for this sheet, only a visitor who opens the chat
 * for that one. Both are constructed and adopted by the shadow root: no `<style>` text and no
 * `style="..."` attributes, so a page whose CSP has no 'unsafe-inline' for styles accepts them.
 * Per-site values (accent) arrive as custom properties set through CSSOM on the host.
 *
 * The host element lives in the page's tree, where hostile rules such as
 * `* { display: block !important; position: static !important }` reach it. `!important` rules
 * from a shadow context beat the page's `!important` rules (CSS Cascade 4, "context"), so
 * `:host { all: initial !important }` puts every property of the host back to its initial value
 * whatever the page says (an empty inline box: no layout shift), and stops inherited page styles.
 * What the host must pass down (font, colour, color-scheme) is `!important` for the same reason;
 * the launcher and panel are fixed-position children, out of reach of page selectors.
 *
 * Themes ride on `color-scheme` and `light-dark()`: `data-theme=auto` is `light dark`, so the
 * visitor's prefers-color-scheme picks the branch with no script and no duplicated palette.
 * (light-dark() needs Chrome 123, Safari 17.5, Firefox 120; constructed sheets already need
 * Safari 16.4.)
 *
 * The launcher's icon and dot take no pointer events, so a press on the launcher always targets
 * the button itself: `draw` replaces them (the panel redraws as it mounts, often between the
 * press and the release of the click whose hover loaded it, and when the unread dot comes), and
 * Chromium and Safari fire no click when the pressed node left the tree before the release, even
 * if it came back (w3c/uievents#141, w3c/pointerevents#576). The dot sits wholly inside the
 * round button, so no part of it passes a click through to the page beneath.
 */
const CSS = `
:host{all:initial!important;font:15px/1.45 system-ui,sans-serif!important;color:var(--cd-fg)!important;color-scheme:light!important;
--cd-accent:#0f766e;--cd-on-accent:#fff;--cd-fg:light-dark(#1f2937,#f3f4f6);--cd-gap:20px}
:host([data-theme=dark]){color-scheme:dark!important}
:host([data-theme=auto]){color-scheme:light dark!important}
*{box-sizing:border-box}
button{cursor:pointer;border:0}
:focus-visible{outline:2px solid var(--cd-fg);outline-offset:2px}
svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.launcher{position:fixed;bottom:calc(var(--cd-gap) + env(safe-area-inset-bottom));right:var(--cd-gap);width:56px;z-index:2147483000;height:56px;border-radius:50%;display:grid;place-items:center;background:var(--cd-accent);color:var(--cd-on-accent);box-shadow:0 4px 14px rgb(0 0 0/.25)}
:host([data-position=left]) .launcher{right:auto;left:var(--cd-gap)}
.dot{position:absolute;top:7px;right:7px;width:12px;height:12px;border-radius:50%;background:#dc2626;border:2px solid #fff}
.launcher>*{pointer-events:none}
`;

let sheet: CSSStyleSheet | undefined;

/** One sheet per page, shared if the widget is mounted again after `destroy()`; the loader's comes first. */
export function adoptLauncherStyles(root: ShadowRoot): void {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  root.adoptedStyleSheets = [sheet];
}
