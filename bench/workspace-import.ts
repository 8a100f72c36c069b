import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './repo-root.js';

export type WorkspacePackage = 'server' | 'widget';

/**
 * Imports a dependency of one workspace package from outside it. `bench/` is not a package of
 * its own (the workspace list is not ours to change), so `import 'vite'` from here would find
 * nothing: pnpm links each package's dependencies only into that package's `node_modules`.
 * Types come from `bench/tsconfig.json`'s `paths`.
 */
export async function workspaceImport<T>(pkg: WorkspacePackage, specifier: string): Promise<T> {
  const require = createRequire(join(repoRoot, pkg, 'package.json'));
  return (await import(pathToFileURL(require.resolve(specifier)).href)) as T;
}
