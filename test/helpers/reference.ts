/** Reference values computed with the original Python code (../shared/reference). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// PIPELINE_REFERENCE_DIR first: a git worktree elsewhere (e.g. /work/wt/<name>) has no ../shared beside it.
export const REFERENCE_DIR = [process.env.PIPELINE_REFERENCE_DIR ?? '', join(here, '../../../shared/reference'), join(here, '../../shared/reference')].filter(Boolean).find(existsSync) ?? '';

export function loadReference<T = any>(name: string): T {
  if (!REFERENCE_DIR) throw new Error('../shared/reference not found beside the repository (or set PIPELINE_REFERENCE_DIR)');
  return JSON.parse(readFileSync(join(REFERENCE_DIR, name), 'utf8')) as T;
}

export function relErr(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
}
