import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Writes a stand-in widget build into `dir` the way the real one is laid out (widget/vite.config.ts):
 * the files, and last `manifest.json` listing them, `widget.js` first. No brotli or gzip copies:
 * the server makes its own when the build has none, which these stand-ins also test.
 */
export function writeWidgetBuild(dir: string, files: Record<string, string | Buffer>, previous: string[] = []): void {
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ entry: 'widget.js', files: Object.keys(files), previous }));
}
