import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { repoRoot } from './repo-root.js';
import { workspaceImport } from './workspace-import.js';

const LOADER_BUDGET_KB = 3;
const LOADER_AIM_KB = 2.5;
const PANEL_BUDGET_KB = 20;

export const widgetDistDir = join(repoRoot, 'widget', 'dist');

/**
 * Widget weight: what every page pays, the loader `widget.js`, and what a visitor who shows intent
 * pays on top, the panel chunk (and a language's strings), each raw, gzip -9 and brotli -11 (the
 * server sends the build's brotli copy to browsers that accept it), against their budgets. The
 * panel's baseline is the floor any Preact + signals widget pays: a minimal entry that uses
 * `render` and `signal`, bundled by the same Vite with the widget's output settings.
 */
export async function widgetWeight(): Promise<Measured[]> {
  const manifest = await readFile(join(widgetDistDir, 'manifest.json'), 'utf8')
    .then((text) => JSON.parse(text) as { files: string[] })
    .catch(() => undefined);
  if (manifest === undefined) {
    return [notMeasured('widget.js gzip', 'KB', 'widget/dist/manifest.json is missing (build failed?)', `≤ ${LOADER_BUDGET_KB} KB`)];
  }
  const floor = await floorGzipBytes().catch((error: unknown) => error as Error);
  const kb = (bytes: number) => round(bytes / 1024, 2);
  const sizes = async (file: string) => {
    const body = await readFile(join(widgetDistDir, file));
    const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } });
    return { raw: kb(body.length), gz: kb(gzipSync(body, { level: 9 }).length), br: kb(br.length) };
  };
  const loader = await sizes('widget.js');
  const panelFile = manifest.files.find((f) => f.startsWith('widget/panel-'))!;
  const panel = await sizes(panelFile);
  const strings = await Promise.all(manifest.files.filter((f) => f.startsWith('widget/strings-')).map(async (f) => `${/strings-(\w+)-/.exec(f)?.[1]} ${(await sizes(f)).gz} KB`));
  const floorKb = floor instanceof Error ? null : kb(floor);
  return [
    measured({
      figure: 'widget.js (the loader every page pays) gzip -9',
      unit: 'KB',
      value: loader.gz,
      target: `≤ ${LOADER_BUDGET_KB} KB (aim ${LOADER_AIM_KB} KB)`,
      met: loader.gz <= LOADER_BUDGET_KB,
      note: `raw ${loader.raw} KB, brotli -11 ${loader.br} KB${loader.gz > LOADER_AIM_KB ? `; ${round(loader.gz - LOADER_AIM_KB, 2)} KB over the aim` : ''}`,
    }),
    measured({
      figure: 'panel chunk (loaded on intent) gzip -9',
      unit: 'KB',
      value: panel.gz,
      baseline: 'Preact + signals floor',
      baselineValue: floorKb,
      target: `≤ ${PANEL_BUDGET_KB} KB`,
      met: panel.gz <= PANEL_BUDGET_KB,
      note: `raw ${panel.raw} KB, brotli -11 ${panel.br} KB; strings chunks ${strings.join(', ')}`,
    }),
    floor instanceof Error
      ? notMeasured('Preact + signals floor, gzip', 'KB', `floor bundle failed: ${floor.message}`)
      : measured({ figure: 'Preact + signals floor, gzip', unit: 'KB', value: floorKb }),
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
