/**
 * A one-node Slurm cluster for tests, started by the project's own script (scripts/slurm/up.sh,
 * which installs Slurm from Debian when missing). Where that cannot work (not root, no apt), the
 * Slurm tests say so and skip (uvu counts them as skipped); CI runs as root, so there they always
 * run. A cluster this process starts is stopped by scripts/slurm/down.sh when the suite ends
 * (test/helpers/services.ts); one that was already up before is left running.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './project.ts';
import { registerService } from './services.ts';

/** A daemon's pid file names a live process of that name (as up.sh and down.sh decide it). */
function alive(pidFile: string): boolean {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return pid > 0 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === pidFile.split('/').pop()!.replace(/\.pid$/, '');
  } catch {
    return false;
  }
}

/** All three daemons of the cluster in `dir` already run: someone else started it. */
function alreadyUp(dir: string): boolean {
  return alive(join(dir, 'munge', 'munged.pid')) && alive(join(dir, 'run', 'slurmctld.pid')) && alive(join(dir, 'run', 'slurmd.pid'));
}

let cached: Record<string, string> | null | undefined;

/** The environment a Slurm client needs (SLURM_CONF), or null when no cluster can run here. */
export function slurmEnv(): Record<string, string> | null {
  if (cached !== undefined) return cached;
  const dir = process.env.PIPELINE_TEST_SLURM_DIR ?? join(tmpdir(), 'pipeline-slurm-test');
  // Registered before up.sh runs, so that an interrupted start is stopped too.
  // Only root starts daemons here (up.sh as another user only finds a running cluster or fails).
  if (process.getuid?.() === 0 && !alreadyUp(dir)) registerService({ name: `slurm cluster ${dir}`, stop: ['bash', join(PACKAGE_ROOT, 'scripts', 'slurm', 'down.sh')], env: { PIPELINE_SLURM_DIR: dir } });
  const r = spawnSync('bash', [join(PACKAGE_ROOT, 'scripts', 'slurm', 'up.sh')], {
    encoding: 'utf8',
    env: { ...process.env, PIPELINE_SLURM_DIR: dir, PIPELINE_SLURM_PORT: process.env.PIPELINE_TEST_SLURM_PORT ?? '19817', PIPELINE_SLURM_MIN_JOB_AGE: '600' },
  });
  if (r.status !== 0) {
    if (process.getuid?.() === 0) throw new Error(`scripts/slurm/up.sh failed:\n${r.stderr}`);
    console.log(`  (Slurm tests skipped, not run: ${r.stderr.trim().split('\n').pop()})`);
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
