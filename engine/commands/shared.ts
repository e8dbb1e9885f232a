/** What several commands share: target options, the run summary, the executor a run uses. */
import { join } from 'node:path';
import { ensureBundle } from '../compile.mjs';
import { PipelineError } from '../errors.ts';
import type { Executor } from '../executors/job.ts';
import { LocalExecutor } from '../executors/local.ts';
import type { NodeResult } from '../scheduler.ts';
import type { Session, SessionOptions } from '../session.ts';
import { resolveSlurmOptions, type SlurmOptions } from '../executors/slurm-options.ts';
import type { Location } from '../errors.ts';

export interface TargetOptions extends SessionOptions {
  profile?: string;
  set?: string[];
  jobs?: number;
  force?: boolean;
  quiet?: boolean;
  /** local (default) or slurm; also PIPELINE_EXECUTOR. */
  executor?: string;
  slurm?: Partial<SlurmOptions>;
  /** Hash each input against its recorded digest before a stage reads it (default on). */
  verifyInputs?: boolean;
}

export interface RunSummary {
  target: string;
  profile: string;
  executor?: string;
  ran: number;
  cached: number;
  failed: number;
  skipped: number;
  seconds: number;
  published: string[];
  nodes: NodeResult[];
}

export function summarise(target: string, profile: string, results: NodeResult[], seconds: number, published: string[], executor?: string): RunSummary {
  const count = (st: string) => results.filter((r) => r.status === st).length;
  return { target, profile, ...(executor ? { executor } : {}), ran: count('ran'), cached: count('cached'), failed: count('failed'), skipped: count('skipped'), seconds, published, nodes: results };
}

/** The bundled worker entry (built on first use). */
export function workerFile(s: Session): () => Promise<string> {
  return () => ensureBundle(join(s.roots.packageRoot, 'engine', 'executors', 'worker.ts'), { buildDir: s.roots.buildDir, root: s.roots.packageRoot }).then((b) => b.file);
}

export const EXECUTORS = ['local', 'slurm'] as const;

export interface ExecutorChoice {
  name: string;
  jobs: number;
  /** The config's `slurm:` block and where its keys are. */
  slurmConfig?: Record<string, unknown>;
  locate?: (path: string[]) => Location;
  slurmCli?: Partial<SlurmOptions>;
}

export async function createExecutor(s: Session, c: ExecutorChoice): Promise<Executor> {
  if (c.name === 'local') return new LocalExecutor(s.cache, c.jobs, workerFile(s));
  if (c.name === 'slurm') {
    const options = resolveSlurmOptions(c.slurmConfig, c.slurmCli ?? {}, process.env, c.locate ? (k) => c.locate!(['slurm', k]) : undefined);
    const { SlurmExecutor } = await import('../executors/slurm.ts');
    return SlurmExecutor.create(s, options, new LocalExecutor(s.cache, c.jobs, workerFile(s)));
  }
  const name = c.name;
  throw new PipelineError(`--executor expects one of ${EXECUTORS.join(', ')}, got "${name}"`, { key: '--executor' });
}
