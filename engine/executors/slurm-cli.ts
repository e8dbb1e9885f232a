/**
 * The Slurm client commands the executor uses (sbatch, squeue, scontrol, scancel), as every
 * Slurm tool of this field does: no REST daemon, no accounting database (sacct is not needed).
 */
import { execFile, execFileSync } from 'node:child_process';
import { PipelineError } from '../errors.ts';

export interface TaskState {
  /** "123_4" for an array task, "123" for a plain job. */
  id: string;
  state: string;
  reason: string;
  /** The node(s) it runs or ran on (squeue %N); empty while pending. */
  nodes: string;
  comment: string;
}

/** States after which a job runs no more (squeue's long names). */
export const TERMINAL_STATES = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'REVOKED', 'SPECIAL_EXIT']);

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') reject(new PipelineError(`${cmd} not found: the slurm executor needs the Slurm client tools on PATH (Debian: apt-get install slurm-client)`, { key: '--executor' }));
        else reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
        return;
      }
      resolve(stdout);
    });
  });
}

/** Submits; returns the job id (`sbatch --parsable` prints "id" or "id;cluster"). */
export async function sbatch(args: string[]): Promise<string> {
  const out = await run('sbatch', ['--parsable', ...args]);
  const id = out.trim().split(';')[0];
  if (!/^\d+$/.test(id)) throw new Error(`sbatch answered "${out.trim()}", not a job id`);
  return id;
}

/** Every task of jobs with this name, one line per array task (-r), finished ones included while Slurm keeps them. */
export async function squeueByName(name: string, states = 'all'): Promise<TaskState[]> {
  const out = await run('squeue', ['--noheader', '-r', `--states=${states}`, `--name=${name}`, '--format=%i|%T|%r|%N|%k']);
  return parseSqueue(out);
}

export function parseSqueue(out: string): TaskState[] {
  const rows: TaskState[] = [];
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    // The comment is free text, so it comes last and keeps any '|' it has.
    const [id, state, reason, nodes, ...comment] = line.trim().split('|');
    rows.push({ id, state, reason: reason ?? '', nodes: nodes ?? '', comment: comment.join('|') });
  }
  return rows;
}

/** A job's state from scontrol, or undefined when Slurm no longer knows it. */
export async function scontrolState(id: string): Promise<{ state: string; reason: string; nodes: string } | undefined> {
  try {
    const out = await run('scontrol', ['show', 'job', '-o', id]);
    const state = /JobState=(\S+)/.exec(out)?.[1];
    const reason = /Reason=(\S+)/.exec(out)?.[1] ?? '';
    const nodes = /\bNodeList=(\S+)/.exec(out)?.[1] ?? '';
    return state ? { state, reason, nodes: nodes === '(null)' ? '' : nodes } : undefined;
  } catch (e) {
    if (/Invalid job id/i.test((e as Error).message)) return undefined;
    throw e;
  }
}

/** Synchronous on purpose: called from a signal handler, just before the process exits. */
export function scancelSync(ids: string[]): void {
  if (!ids.length) return;
  try {
    execFileSync('scancel', ids, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // already ended, or Slurm unreachable: nothing more to do on the way out
  }
}
