/**
 * The seam between the scheduler and executors. The scheduler plans, keys and orders nodes; an
 * executor is handed a ready node (NodeJob: everything needed to run it from the shared cache,
 * nothing to re-plan) and answers with an outcome. `local` runs nodes in worker threads of this
 * process; `slurm` packs them into job arrays whose tasks run `pipeline exec <job file>`.
 */
import type { ExecutorRecord, NodeMeta } from '../store/cache.ts';
import type { CommandJob } from '../command/run.ts';
import type { KeyRecord } from '../keys/key.ts';
import type { JobInputs, OutputFile } from '../store/outputs.ts';
import type { Resources } from '../config/resources.ts';

/** What a worker thread needs to run one stage: no cache, no locks, just files. */
export interface Job {
  jobId: number;
  nodeId: string;
  bundle: string;
  params: Record<string, unknown>;
  inputs: JobInputs;
  outDir: string;
  /** Project root: `file` params are relative to it. */
  root: string;
  /** Hash every input file read against its recorded digest (default on). */
  verifyInputs?: boolean;
  /** The stage's key facts as the node key has them: the worker refuses to run on others. */
  facts?: Record<string, string>;
  /** Cores the job holds in the idle-core count (its `threads`; default 1). */
  threads?: number;
  /** GPU devices the local pool gave this job: the worker sets CUDA_VISIBLE_DEVICES to them. */
  gpuDevices?: string[];
  /** A command node: run as a child process (engine/command/run.ts), not in a worker thread. */
  command?: CommandJob;
}

export interface JobResult {
  outputs: Record<string, OutputFile>;
  seconds: number;
  log: string[];
  /**
   * Deps the program turned out to read (path -> fingerprint), e.g. the Python modules it loaded:
   * the entry is filed under the key made with them (meta-design §1).
   */
  discovered?: Record<string, string>;
}

/** A stage failure as it crosses a thread or process boundary. */
export interface JobFailure {
  message: string;
  stack?: string;
  /** The filesystem failed (full, read-only, forbidden): nothing else will run either. */
  fsFault?: boolean;
  /** An input entry whose bytes do not match its meta (outputs.ts CorruptInputError). */
  corrupt?: { key: string; output: string; nodeId: string };
}

export type WorkerMessage =
  | { type: 'progress'; jobId: number; fraction: number; note?: string }
  | { type: 'done'; jobId: number; result: JobResult }
  | { type: 'error'; jobId: number; failure: JobFailure };

/** A ready node, serialisable: a Slurm job file is a list of these. */
export interface NodeJob {
  nodeId: string;
  stage: string;
  kind: string;
  key: string;
  record: KeyRecord;
  bundle: string;
  /** sha256 of the bundle when planned: a job that finds other code refuses to run. */
  bundleSha256?: string;
  params: Record<string, unknown>;
  inputs: JobInputs;
  root: string;
  force?: boolean;
  verifyInputs: boolean;
  /** The stage is cheap bookkeeping (StageDefinition.light): cluster executors run it locally. */
  light?: boolean;
  /** The stage's key facts as its key has them: the worker refuses to run on others. */
  facts?: Record<string, string>;
  /** Seconds it took when it last ran (an earlier key of the same node), for packing jobs. */
  estimateSeconds?: number;
  /** The node's scheduling needs (PlanNode.resources): slots, sbatch options; in no key. */
  resources?: Resources;
  /** GPU devices the local pool reserved for this node (scheduler.ts). */
  gpuDevices?: string[];
  /** A command node's program and how to run it (engine/command/run.ts). */
  command?: CommandJob;
  /** The key without discovered deps: the deps log is filed under it. */
  staticKey?: string;
}

export type ExecOutcome =
  | { status: 'ran'; meta: NodeMeta }
  /** Another process committed the key meanwhile. */
  | { status: 'cached'; meta: NodeMeta }
  /** Another live process holds the key's lock: the scheduler comes back to it later. */
  | { status: 'locked'; holder: string }
  | { status: 'failed'; failure: JobFailure; executor?: ExecutorRecord };

export interface Executor {
  readonly name: string;
  /** How many nodes the scheduler hands over at once (local: job slots; slurm: many). */
  readonly slots: number;
  /**
   * GPU devices this executor hands out one job at a time (local: PIPELINE_GPUS or the devices
   * found); undefined where something else places GPUs (Slurm's --gres).
   */
  readonly gpuDevices?: string[];
  /** Whether a node's `threads` take that many of `slots` (local: yes; slurm: Slurm counts cores). */
  readonly threadSlots?: boolean;
  execute(job: NodeJob, onProgress: (fraction: number, note?: string) => void): Promise<ExecOutcome>;
  close(): Promise<void>;
  /** Stops whatever runs on the executor's behalf elsewhere (scancel); called on Ctrl-C. */
  cancel?(): Promise<void>;
}

export function failureOf(e: unknown): JobFailure {
  if (e && typeof e === 'object' && 'failure' in e) return (e as { failure: JobFailure }).failure;
  const err = e as Error & { key?: string; output?: string; nodeId?: string };
  const failure: JobFailure = { message: err?.message ?? String(e), stack: err?.stack };
  if (err?.name === 'CorruptInputError' && err.key) failure.corrupt = { key: err.key, output: err.output!, nodeId: err.nodeId! };
  return failure;
}

/** An Error carrying a structured failure (what a worker reported), for promise rejections. */
export class JobFailedError extends Error {
  constructor(readonly failure: JobFailure) {
    super(failure.message);
    this.name = 'JobFailedError';
  }
}
