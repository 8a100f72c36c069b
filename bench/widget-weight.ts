import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { repoRoot } from './repo-root.js';
import { workspaceImport } from './workspace-import.js';

const BUDGET_KB = 20;
const TARGET_KB = 15;

export const widgetBundlePath = join(repoRoot, 'widget', 'dist', 'widget.js');

/**
 * Widget weight (issue 7): `widget.js` raw, gzip -9 and brotli -11, against the 20 KB budget,
 * the 15 KB target, and the floor any Preact + signals widget pays: a minimal entry that
 * uses `render` and `signal`, bundled by the same Vite with the widget's output settings.
 */
export async function widgetWeight(): Promise<Measured[]> {
  const bundle = await readFile(widgetBundlePath).catch(() => undefined);
  if (bundle === undefined) {
    return [notMeasured('widget.js gzip', 'KB', 'widget/dist/widget.js is missing (build failed?)', `≤ ${TARGET_KB} KB`)];
  }
  const floor = await floorGzipBytes().catch((error: unknown) => error as Error);
  const gz = gzipSync(bundle, { level: 9 }).length;
  const br = brotliCompressSync(bundle, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bundle.length },
  }).length;
  const kb = (bytes: number) => round(bytes / 1024, 2);
  const floorRow =
    floor instanceof Error
      ? notMeasured('Preact + signals floor, gzip', 'KB', `floor bundle failed: ${floor.message}`)
      : measured({ figure: 'Preact + signals floor, gzip', unit: 'KB', value: kb(floor) });
  const floorKb = floor instanceof Error ? null : kb(floor);
  return [
    measured({ figure: 'widget.js raw', unit: 'KB', value: kb(bundle.length) }),
    measured({
      figure: 'widget.js gzip -9',
      unit: 'KB',
      value: kb(gz),
      baseline: 'Preact + signals floor',
      baselineValue: floorKb,
      target: `≤ ${TARGET_KB} KB (budget ${BUDGET_KB} KB)`,
      met: kb(gz) <= TARGET_KB,
      note: kb(gz) > TARGET_KB ? `over by ${round(kb(gz) - TARGET_KB, 2)} KB` : `${round(TARGET_KB - kb(gz), 2)} KB to spare`,
    }),
    measured({ figure: 'widget.js brotli -11', unit: 'KB', value: kb(br) }),
    floorRow,
  ];
}

/** Bundles `render` + `signal` and nothing else, and answers its gzip -9 size in bytes. */
async function floorGzipBytes(): Promise<number> {
  const { build } = await workspaceImport<typeof import('vite')>('widget', 'vite');
  const dir = await mkdtemp(join(tmpdir(), 'chatdrop-floor-'));
  try {
    const entry = join(dir, 'entry.js');
    // Uses both imports so neither is tree-shaken away; rendering a signal as a child is the
    // signals integration the widget relies on.
    await writeFile(
      entry,
      `import { render, h } from 'preact';\nimport { signal } from '@preact/signals';\n` +
        `const count = signal(0);\nrender(h('button', { onClick: () => count.value++ }, count), document.body);\n`,
    );
    // Resolve the two packages from the widget's own node_modules: the entry lives in a temp dir.
    // (`@preact/signals` does not export its package.json, so find the folder pnpm linked.)
    const packageDir = (name: string) => realpathSync(join(repoRoot, 'widget', 'node_modules', name));
    await build({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      resolve: {
        alias: [
          { find: /^preact$/, replacement: packageDir('preact') },
          { find: /^@preact\/signals$/, replacement: packageDir('@preact/signals') },
        ],
      },
      build: {
        target: 'es2020',
        outDir: join(dir, 'dist'),
        emptyOutDir: true,
        modulePreload: false,
        rolldownOptions: {
          input: entry,
          output: { format: 'iife', entryFileNames: 'floor.js' },
        },
      },
    });
    const out = await readFile(join(dir, 'dist', 'floor.js'));
    return gzipSync(out, { level: 9 }).length;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
