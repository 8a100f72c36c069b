import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Coding } from './accept-encoding.js';

/** One coding of one file: its bytes and their strong ETag. */
export interface Variant {
  body: Buffer;
  etag: string;
}

export interface WidgetAsset {
  /** False only for the stable entry, `widget.js`; every other file has a content-hashed name. */
  immutable: boolean;
  variants: Record<Coding, Variant>;
}

/** What the widget build writes beside its files (widget/vite.config.ts). */
interface Manifest {
  entry?: unknown;
  files?: unknown;
  previous?: unknown;
}

/**
 * A name the manifest may list: the entry or a file directly under `widget/`, of plain characters.
 * Anything else (`..`, another folder, a map) is never served, whatever the manifest says.
 */
const SERVABLE = /^widget(?:\/[\w-]+)?\.js$/;

/**
 * The widget's files as the server serves them, keyed by URL path (`/widget.js`,
 * `/widget/panel-<hash>.js`), from the build's `manifest.json` in `dir` (`widget/dist`). The
 * request path is only ever looked up in this map, never joined to a folder, so an unknown or
 * crafted name is a 404 that touches no file.
 *
 * Everything is read into memory once (the files are a few tens of KB) and read again when the
 * manifest changes on disk, so a rebuild (`pnpm dev`) is served without a restart: each call stats
 * the manifest, a fixed path, and nothing else. A brotli or gzip copy the build did not write (a
 * hand-copied folder) is made here once rather than not offered.
 */
export function widgetAssets(dir: string): () => Promise<Map<string, WidgetAsset> | undefined> {
  const manifestFile = join(dir, 'manifest.json');
  let loaded: { mtimeMs: number; size: number; assets: Promise<Map<string, WidgetAsset> | undefined> } | undefined;
  return async () => {
    let info;
    try {
      info = await stat(manifestFile);
    } catch {
      loaded = undefined;
      return undefined;
    }
    if (loaded?.mtimeMs !== info.mtimeMs || loaded.size !== info.size) {
      // Shared by the requests that arrive while it loads.
      const current = { mtimeMs: info.mtimeMs, size: info.size, assets: load(dir, manifestFile) };
      loaded = current;
      // A manifest read mid-write is read again by the next request, whatever its mtime says.
      void current.assets.then((assets) => {
        if (!assets && loaded === current) loaded = undefined;
      });
    }
    return loaded.assets;
  };
}

async function load(dir: string, manifestFile: string): Promise<Map<string, WidgetAsset> | undefined> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Manifest;
  } catch {
    return undefined; // mid-write or not ours: the next request reads it again
  }
  const list = (value: unknown): string[] => (Array.isArray(value) ? value.filter((f): f is string => typeof f === 'string') : []);
  const entry = manifest.entry === 'widget.js' ? 'widget.js' : undefined;
  const names = new Set([...list(manifest.files), ...list(manifest.previous)].filter((name) => SERVABLE.test(name)));
  const assets = new Map<string, WidgetAsset>();
  await Promise.all(
    [...names].map(async (name) => {
      const identity = await readFile(join(dir, name)).catch(() => undefined);
      if (identity === undefined) return; // listed but gone: a 404 like any unknown name
      const copy = (suffix: string, make: () => Buffer) => readFile(join(dir, name + suffix)).catch(make);
      const [br, gzip] = await Promise.all([
        copy('.br', () =>
          brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: identity.length } }),
        ),
        copy('.gz', () => gzipSync(identity, { level: 9 })),
      ]);
      assets.set(`/${name}`, {
        immutable: name !== entry,
        variants: { identity: variant(identity), br: variant(br), gzip: variant(gzip) },
      });
    }),
  );
  return assets;
}

/**
 * A strong ETag per coding (RFC 9110 §8.8.3: the brotli and gzip bytes are different
 * representations), so a cache holding one coding never answers for another.
 */
function variant(body: Buffer): Variant {
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}
