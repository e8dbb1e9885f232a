/** What several commands share: target options, the run summary, the executor a run uses. */
import { join } from 'node:path';
import { ensureBundle } from '../keys/compile.mjs';
import { PipelineError } from '../errors.ts';
import type { Executor } from '../executors/job.ts';
import { localGpuDevices } from '../executors/gpus.ts';
import { LocalExecutor } from '../executors/local.ts';
import type { Expansion } from '../config/expand.ts';
import type { Failure } from '../run/failures.ts';
import type { NodeResult } from '../run/scheduler.ts';
import type { Session, SessionOptions } from '../run/session.ts';
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
  /** false: build only (no report, no run record), as `diff` builds a variant. */
  publish?: boolean;
  /** --remote URL: the remote cache read on a local miss (else PIPELINE_REMOTE, else the config's remote:). */
  remote?: string;
  /** --remote-write: push the target's entries to the remote cache after the run. */
  remoteWrite?: boolean;
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
  /** Failed nodes, one line each (engine/run/failures.ts). */
  failures: Failure[];
  /** Config stage name -> stage kind, for per-stage summaries. */
  kinds: Record<string, string>;
  /** With a remote cache: entries fetched from it by this run, and (--remote-write) pushed to it. */
  remote?: { where: string; pulled: number; pushed?: number; warnings: number };
}

export function summarise(
  exp: Expansion,
  target: string,
  profile: string,
  results: NodeResult[],
  seconds: number,
  published: string[],
  failures: Failure[] = [],
  executor?: string,
): RunSummary {
  const count = (st: string) => results.filter((r) => r.status === st).length;
  const kinds: Record<string, string> = {};
  for (const n of exp.nodes) kinds[n.stage] ??= n.kind;
  // Every node the config names is listed: a stage whose node is another's (the same computation)
  // appears under its own id too, pointing at the shared one; counts count each computation once.
  const byId = new Map(results.map((r) => [r.id, r]));
  const aliases: NodeResult[] = Object.entries(exp.shared ?? {}).map(([id, to]) => ({ ...byId.get(to)!, id, stage: stageOfId(id), shared: to }));
  for (const a of aliases) kinds[a.stage] ??= kinds[byId.get(a.shared!)!.stage];
  return {
    target,
    profile,
    ...(executor ? { executor } : {}),
    ran: count('ran'),
    cached: count('cached'),
    failed: count('failed'),
    skipped: count('skipped'),
    seconds,
    published,
    nodes: [...results, ...aliases],
    failures,
    kinds,
  };
}

/**
 * Where a cluster run's nodes ran, counted per Slurm node ("ran on n1: 12, n2: 9, here: 4"): the
 * nodes that ran in this process (light ones) count as "here". Nothing for a local run.
 */
export function placement(nodes: NodeResult[]): string | undefined {
  const ran = nodes.filter((n) => n.status === 'ran' && !n.shared);
  if (!ran.some((n) => n.executor?.node)) return undefined;
  const count = new Map<string, number>();
  for (const n of ran) count.set(n.executor?.node ?? 'here', (count.get(n.executor?.node ?? 'here') ?? 0) + 1);
  const names = [...count.keys()].sort((a, b) => (a === 'here' ? 1 : b === 'here' ? -1 : a.localeCompare(b, 'en', { numeric: true })));
  return `ran on ${names.map((k) => `${k}: ${count.get(k)}`).join(', ')}`;
}

/** "fig3/ntk[N=128,d0=1]" -> "ntk": the config stage of a node id. */
function stageOfId(id: string): string {
  return id.replace(/^[\w-]+\//, '').replace(/\[.*$/, '');
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
  if (c.name === 'local') return new LocalExecutor(s.cache, c.jobs, workerFile(s), localGpuDevices());
  if (c.name === 'slurm') {
    const options = resolveSlurmOptions(c.slurmConfig, c.slurmCli ?? {}, process.env, c.locate ? (k) => c.locate!(['slurm', k]) : undefined);
    const { SlurmExecutor } = await import('../executors/slurm.ts');
    return SlurmExecutor.create(s, options, new LocalExecutor(s.cache, c.jobs, workerFile(s)));
  }
  const name = c.name;
  throw new PipelineError(`--executor expects one of ${EXECUTORS.join(', ')}, got "${name}"`, { key: '--executor' });
}
