/** What the widget's sources read of `import.meta.env` (Vite's), for the bench's own type check. */
interface ImportMeta {
  readonly env?: { readonly MODE?: string };
}
