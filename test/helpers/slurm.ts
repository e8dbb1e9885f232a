/**
 * Slurm clusters for tests, started by the project's own script (scripts/slurm/up.sh, which
 * installs Slurm from Debian when missing): one node for most tests, or N nodes (n1..nN, several
 * slurmd on this host) for the multi-node ones. Where that cannot work (not root, no apt), the
 * Slurm tests say so and skip; CI runs as root, so there they always run.
 *
 * A cluster this process started is stopped (scripts/slurm/down.sh) when the process ends, also on
 * SIGINT/SIGTERM, and registered with the suite's service list (test/helpers/services.ts), so that
 * test/run.mjs stops it even when this process is killed; one that was already up is left as it
 * was. PIPELINE_TEST_KEEP_SLURM=1 keeps them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

export interface SlurmCluster {
  /** What a Slurm client needs (SLURM_CONF). */
  env: Record<string, string>;
  dir: string;
  /** The node names (one node: this host's name; several: n1..nN). */
  nodes: string[];
  /** Each slurmd runs in its own UTS+PID namespace: its jobs see the node name as host name. */
  namespaces: boolean;
  /** Kills one node as a crash does (its slurmd and its jobs' processes; down.sh --node). */
  crash(node: string): void;
  /** up.sh again: restarts the slurmd that no longer run and waits until every node is idle. */
  up(): void;
}

const SCRIPTS = join(PACKAGE_ROOT, 'scripts', 'slurm');
const clusters = new Map<number, SlurmCluster | null>();
const started: string[] = [];

/** A running cluster of `nodes` nodes (its own folder and ports per size), or null when none can run here. */
export function slurmCluster(nodes = 1): SlurmCluster | null {
  if (clusters.has(nodes)) return clusters.get(nodes)!;
  const base = process.env.PIPELINE_TEST_SLURM_DIR ?? join(tmpdir(), 'pipeline-slurm-test');
  const dir = nodes === 1 ? base : `${base}-${nodes}n`;
  // slurmctld at PORT, slurmd i at PORT+i: sizes 10 ports apart
  const port = String(Number(process.env.PIPELINE_TEST_SLURM_PORT ?? '19817') + 10 * (nodes - 1));
  const env = {
    ...process.env,
    PIPELINE_SLURM_DIR: dir,
    PIPELINE_SLURM_PORT: port,
    PIPELINE_SLURM_MIN_JOB_AGE: '600',
    // a crashed node is DOWN (its jobs NODE_FAIL) ~10-20 s after it stops answering, not ~50 s
    PIPELINE_SLURM_SLURMD_TIMEOUT: '10',
  };
  const wasUp = controllerRuns(dir);
  // Registered before up.sh runs, so that an interrupted start is stopped too (root only starts daemons).
  if (!wasUp && process.getuid?.() === 0 && process.env.PIPELINE_TEST_KEEP_SLURM !== '1') registerService({ name: `slurm cluster ${dir}`, stop: ['bash', join(SCRIPTS, 'down.sh')], env: { PIPELINE_SLURM_DIR: dir } });
  const up = () => {
    const r = spawnSync('bash', [join(SCRIPTS, 'up.sh'), '--nodes', String(nodes)], { encoding: 'utf8', env });
    return r;
  };
  const r = up();
  if (r.status !== 0) {
    if (process.getuid?.() === 0) throw new Error(`scripts/slurm/up.sh --nodes ${nodes} failed:\n${r.stderr}`);
    console.log(`  (Slurm tests skipped: ${r.stderr.trim().split('\n').pop()})`);
    clusters.set(nodes, null);
    return null;
  }
  if (!wasUp) stopAtExit(dir);
  const conf = readFileSync(join(dir, 'slurm.conf'), 'utf8');
  const cluster: SlurmCluster = {
    env: { SLURM_CONF: join(dir, 'slurm.conf') },
    dir,
    nodes: [...conf.matchAll(/^NodeName=(\S+)/gm)].map((m) => m[1]),
    // A cluster started by an older up.sh (still running) has no cluster.env: one node, no namespaces.
    namespaces: existsSync(join(dir, 'cluster.env')) && /^NAMESPACES=1$/m.test(readFileSync(join(dir, 'cluster.env'), 'utf8')),
    crash(node) {
      const c = spawnSync('bash', [join(SCRIPTS, 'down.sh'), '--node', node], { encoding: 'utf8', env });
      if (c.status !== 0) throw new Error(`down.sh --node ${node} failed:\n${c.stderr}`);
    },
    up() {
      const u = up();
      if (u.status !== 0) throw new Error(`scripts/slurm/up.sh --nodes ${nodes} failed:\n${u.stderr}`);
    },
  };
  clusters.set(nodes, cluster);
  return cluster;
}

/** The environment of the one-node cluster, or null when no cluster can run here. */
export function slurmEnv(): Record<string, string> | null {
  return slurmCluster(1)?.env ?? null;
}

function controllerRuns(dir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, 'run', 'slurmctld.pid'), 'utf8'));
    return existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'slurmctld';
  } catch {
    return false;
  }
}

function stopAll(): void {
  if (process.env.PIPELINE_TEST_KEEP_SLURM === '1') return;
  for (const dir of started.splice(0)) spawnSync('bash', [join(SCRIPTS, 'down.sh')], { env: { ...process.env, PIPELINE_SLURM_DIR: dir }, stdio: 'ignore' });
}

function stopAtExit(dir: string): void {
  if (!started.length) {
    process.once('exit', stopAll);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        stopAll();
        process.kill(process.pid, sig);
      });
    }
  }
  started.push(dir);
}

export function squeue(env: Record<string, string>, args: string[]): string {
  return spawnSync('squeue', args, { encoding: 'utf8', env: { ...process.env, ...env } }).stdout;
}

/** Node name -> state (idle, mixed, allocated, down*, ...), as sinfo has them. */
export function nodeStates(env: Record<string, string>): Record<string, string> {
  const out = spawnSync('sinfo', ['--noheader', '--Node', '--format=%N|%T'], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout;
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => l.split('|') as [string, string]));
}

export function scancel(env: Record<string, string>, args: string[]): void {
  spawnSync('scancel', args, { env: { ...process.env, ...env } });
}
