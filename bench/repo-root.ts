import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whatever the working directory `pnpm bench` was started from. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
