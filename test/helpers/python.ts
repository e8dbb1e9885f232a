/**
 * A Python interpreter with numpy for the crosscheck tests: /usr/bin/python3 with Debian's
 * python3-numpy, installed by the project's own script (scripts/python/numpy.sh) when missing.
 * Where that cannot work (not root, no apt), the tests say so and skip; CI runs as root (and
 * .ci/run installs the package first), so there they always run.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './project.ts';

let cached: string | null | undefined;

export function pythonWithNumpy(): string | null {
  if (cached !== undefined) return cached;
  const py = process.env.PIPELINE_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync('bash', [join(PACKAGE_ROOT, 'scripts', 'python', 'numpy.sh')], { encoding: 'utf8', env: { ...process.env, PIPELINE_PYTHON: py } });
  if (r.status !== 0) {
    if (process.getuid?.() === 0) throw new Error(`scripts/python/numpy.sh failed:\n${r.stderr}`);
    console.log(`  (crosscheck tests skipped: ${r.stderr.trim().split('\n').pop()})`);
    return (cached = null);
  }
  console.log(`  (crosscheck with ${py}: ${r.stdout.trim()})`);
  return (cached = py);
}
