/**
 * A page of the site's own knowledge that a reply was grounded in: its title and its address.
 * The `sources` event and a stored reply carry the same list.
 */
export interface Source {
  title: string;
  url: string;
}

const MAX_SOURCE_FIELD = 2048;

/** True for a `{ title, url }` with an http(s) URL; the widget shows nothing else as a link. */
export function isSource(value: unknown): value is Source {
  // Object() boxes a primitive (whose fields are not strings) and makes null and undefined `{}`.
  const { title, url } = Object(value) as { title?: unknown; url?: unknown };
  return (
    typeof title === 'string' &&
    typeof url === 'string' &&
    title.length <= MAX_SOURCE_FIELD &&
    url.length <= MAX_SOURCE_FIELD &&
    /^https?:\/\//i.test(url)
  );
}
