/**
 * A one-node Slurm cluster for tests, started by the project's own script (scripts/slurm/up.sh,
 * which installs Slurm from Debian when missing). Where that cannot work (not root, no apt), the
 * Slurm tests say so and skip; CI runs as root, so there they always run.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './project.ts';

let cached: Record<string, string> | null | undefined;

/** The environment a Slurm client needs (SLURM_CONF), or null when no cluster can run here. */
export function slurmEnv(): Record<string, string> | null {
  if (cached !== undefined) return cached;
  const dir = process.env.PIPELINE_TEST_SLURM_DIR ?? join(tmpdir(), 'pipeline-slurm-test');
  const r = spawnSync('bash', [join(PACKAGE_ROOT, 'scripts', 'slurm', 'up.sh')], {
    encoding: 'utf8',
    env: { ...process.env, PIPELINE_SLURM_DIR: dir, PIPELINE_SLURM_PORT: process.env.PIPELINE_TEST_SLURM_PORT ?? '19817', PIPELINE_SLURM_MIN_JOB_AGE: '600' },
  });
  if (r.status !== 0) {
    if (process.getuid?.() === 0) throw new Error(`scripts/slurm/up.sh failed:\n${r.stderr}`);
    console.log(`  (Slurm tests skipped: ${r.stderr.trim().split('\n').pop()})`);
    return (cached = null);
  }
  return (cached = { SLURM_CONF: join(dir, 'slurm.conf') });
}

export function squeue(env: Record<string, string>, args: string[]): string {
  return spawnSync('squeue', args, { encoding: 'utf8', env: { ...process.env, ...env } }).stdout;
}

export function scancel(env: Record<string, string>, args: string[]): void {
  spawnSync('scancel', args, { env: { ...process.env, ...env } });
}
