/**
 * One entry of `CHATDROP_KNOWLEDGE`: a sitemap to read, a page to crawl from, or a local folder
 * of `.md`/`.html`/`.txt` files whose pages live under `baseUrl`.
 */
export type KnowledgeSource =
  | { kind: 'sitemap'; url: string }
  | { kind: 'page'; url: string }
  | { kind: 'folder'; path: string; baseUrl: string };

/** One line per source, for logs and for noticing that the configuration changed. */
export function describeSource(source: KnowledgeSource): string {
  return source.kind === 'folder' ? `folder ${source.path} as ${source.baseUrl}` : `${source.kind} ${source.url}`;
}
