import { readFileSync } from 'node:fs';

export interface NginxConfigOptions {
  /** The port nginx listens on (all interfaces, as `listen <port>` does). */
  listenPort: number;
  /** The instances, `host:port` each, e.g. `127.0.0.1:8787`. */
  upstreams: string[];
  /** Where nginx writes its pid, logs, temp files and widget cache; it must exist. */
  tempDir: string;
}

/** The documented template beside this file; the tests run the very file a deployment uses. */
const TEMPLATE_URL = new URL('./nginx.conf', import.meta.url);

/**
 * Renders `nginx.conf` as `envsubst` would, for `nginx -c <file> -p <tempDir>` (runs in the
 * foreground, as any user). Refuses values that would break the config's syntax rather than
 * produce a config nginx would read differently.
 */
export function renderNginxConfig(options: NginxConfigOptions): string {
  const { listenPort, upstreams, tempDir } = options;
  if (!Number.isInteger(listenPort) || listenPort < 1 || listenPort > 65_535) throw new RangeError(`bad listen port: ${listenPort}`);
  if (upstreams.length === 0) throw new RangeError('at least one upstream instance is needed');
  for (const upstream of upstreams) if (!/^[\w.:[\]-]+$/.test(upstream)) throw new RangeError(`bad upstream address: ${upstream}`);
  if (!/^\/[\w./-]*$/.test(tempDir)) throw new RangeError(`tempDir must be an absolute path of plain characters: ${tempDir}`);

  const values: Record<string, string> = {
    LISTEN_PORT: String(listenPort),
    UPSTREAM_SERVERS: upstreams.map((upstream) => `server ${upstream};`).join(' '),
    TEMP_DIR: tempDir.replace(/\/+$/, ''),
  };
  // Only these three: `$host`, `$remote_addr` and the rest are nginx's own variables.
  return readFileSync(TEMPLATE_URL, 'utf8').replace(/\$\{(LISTEN_PORT|UPSTREAM_SERVERS|TEMP_DIR)\}/g, (_, name: string) => values[name]!);
}
