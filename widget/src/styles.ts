/**
 * The panel's stylesheet, adopted beside the loader's (launcher-styles.ts, which has the host
 * rules, the accent and the shared focus and icon rules) when the panel mounts. The rest
 * of the palette lives here, since only the panel uses it; both palettes keep body text and
 * controls at or above 4.5:1 in the light and the dark theme. It is set on `.panel`, inside the
 * shadow tree, where no page rule can reach it (a page's `* { --line: red }` matches the host
 * element and would beat a `:host` rule), so its names need no prefix.
 *
 * Only the panel produces links, tables and `pre`, so plain element selectors are enough for them.
 * The one animation (the typing dots) stops for visitors who ask for reduced motion.
 */
const CSS = `
button,textarea,select,input{font:inherit;color:inherit;margin:0}
button{background:none;padding:6px 10px;border-radius:8px}
button:disabled{opacity:.6}
a{color:inherit}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.panel{--bg:light-dark(#fff,#111827);--muted:light-dark(#4b5563,#d1d5db);--soft:light-dark(#f3f4f6,#1f2937);--line:light-dark(#d1d5db,#4b5563);--err:light-dark(#b91c1c,#fca5a5);
position:fixed;bottom:calc(var(--cd-gap) + 68px);right:var(--cd-gap);width:min(380px,100vw - 2*var(--cd-gap));height:min(600px,100vh - 108px);display:flex;flex-flow:column;background:var(--bg);border:1px solid var(--line);border-radius:14px;box-shadow:0 10px 40px rgb(0 0 0/.3);overflow:hidden;z-index:2147483000}
:host([data-position=left]) .panel{right:auto;left:var(--cd-gap)}
.head{display:flex;align-items:center;gap:6px;padding:10px 8px 10px 14px;background:var(--cd-accent);color:var(--cd-on-accent)}
.head h2{flex:1;margin:0;font-size:16px}
.head button,.acts button{padding:6px;display:grid}
.head :focus-visible{outline-color:currentColor}
.avatar{width:28px;height:28px;border-radius:50%;object-fit:cover}
.badge{font-size:12px;padding:1px 6px;border-radius:6px;border:1px solid}
.head select{background:var(--cd-accent);border:1px solid;border-radius:6px;padding:2px;max-width:110px}
.log{flex:1;overflow-y:auto;overscroll-behavior:contain;padding:14px;display:flex;flex-flow:column;gap:10px}
.msg{max-width:88%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.user{align-self:end;background:var(--cd-accent);color:var(--cd-on-accent)}
.bot{align-self:start;background:var(--soft)}
.acts{display:flex;gap:2px;margin-top:4px;color:var(--muted)}
.src{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-flow:wrap;gap:2px 10px;font-size:13px}
.src::before{content:attr(aria-label)": "/"";color:var(--muted)}
.acts button{padding:4px}
.acts svg{width:16px;height:16px}
[aria-pressed=true]{color:var(--cd-fg);background:var(--line)}
.note,.err{display:flex;flex-flow:wrap;gap:6px;align-items:center;font-size:13px}
.note{color:var(--muted);margin-top:4px}
.err{color:var(--err);font-size:14px}
.note button,.err button,.acts [aria-expanded]{border:1px solid;padding:2px 10px}
.starters{display:flex;flex-flow:wrap;gap:6px}
.starters button{border:1px solid var(--line);background:var(--bg);border-radius:16px;padding:5px 12px;text-align:start}
.typing{display:flex;gap:4px;padding:6px 0}
.typing i{width:7px;height:7px;border-radius:50%;background:var(--muted);animation:cd-blink 1s infinite alternate}
.typing i+i{animation-delay:.2s}.typing i+i+i{animation-delay:.4s}
@keyframes cd-blink{to{opacity:.2}}
.composer{display:flex;flex-flow:wrap;align-items:end;gap:6px;padding:10px;border-top:1px solid var(--line)}
textarea,input{flex:1;min-width:0;resize:none;max-height:140px;overflow-y:auto;background:var(--bg);border:1px solid var(--line);border-radius:10px;padding:8px 10px}
.send{background:var(--cd-accent);color:var(--cd-on-accent);font-weight:600}
.stop{border:1px solid var(--line)}
.count{flex-basis:100%;font-size:12px;color:var(--muted);text-align:end}
.foot{padding:0 10px 8px;font-size:13px;text-align:center}
.foot button{padding:0 8px;text-decoration:underline}
.hand,.hand label{display:grid;gap:8px}
.md{white-space:normal}
.md>:first-child{margin-top:0}.md>:last-child{margin-bottom:0}
.md :is(p,ul,ol,pre,table){margin:0 0 8px}
.md :is(ul,ol){padding-inline-start:20px}
pre,.tbl{overflow-x:auto}
.bar{display:flex;justify-content:space-between;font-size:12px}
table{border-collapse:collapse}
th,td{border:1px solid var(--line);padding:3px 6px}
@media (width<480px){.panel,:host([data-position=left]) .panel{inset:0;width:100%;height:var(--cd-vh,100%);border-radius:0;border:0;padding:env(safe-area-inset-top) env(safe-area-inset-right) env(safe-area-inset-bottom) env(safe-area-inset-left)}}
@media (prefers-reduced-motion:reduce){.typing i{animation:none}}
`;

let sheet: CSSStyleSheet | undefined;

/** Adds the panel's sheet after the loader's; one per page, shared across mounts. */
export function adoptStyles(root: ShadowRoot): void {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  if (!root.adoptedStyleSheets.includes(sheet)) root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
}
