/**
 * Options of the slurm executor, from (lowest to highest precedence) defaults, a config's
 * `slurm:` block, PIPELINE_SLURM_* variables and --slurm-* flags.
 */
import { PipelineError } from '../errors.ts';
import { memMegabytes, timeSeconds, type Resources } from '../config/resources.ts';

export interface SlurmOptions {
  partition?: string;
  /** Partition of the arrays whose nodes ask for GPUs (`resources: { gpus: n }`). */
  gpuPartition?: string;
  account?: string;
  /** --time of each job (Slurm's formats: minutes, MM:SS, HH:MM:SS, D-HH). */
  time?: string;
  cpusPerTask: number;
  /** --mem of each job (e.g. 4G). */
  mem?: string;
  /** Free-form sbatch arguments, passed as they are. */
  args: string[];
  /** Nodes per array task; unset: sized from the nodes' recorded run times. */
  nodesPerJob?: number;
  /** Target run time of one array task when sizing from run times (seconds). */
  taskSeconds: number;
  /** Estimated run time of a node that has never run (seconds). */
  unknownNodeSeconds: number;
  /** At least this many tasks per array when there are as many nodes (spreads a wave of small nodes). */
  minTasks: number;
  /** squeue is asked at most once per this many seconds. */
  pollSeconds: number;
  /** Largest array (Slurm's MaxArraySize - 1 by default). */
  maxArraySize: number;
  /** Light stages (aggregates, plots, reports) run in the driver's worker threads. */
  localLight: boolean;
}

export const SLURM_DEFAULTS: SlurmOptions = {
  cpusPerTask: 1,
  args: [],
  taskSeconds: 300,
  unknownNodeSeconds: 5,
  minTasks: 4,
  pollSeconds: 1,
  maxArraySize: 1000,
  localLight: true,
};

/** Config key (snake_case, as in YAML), environment suffix, option field, kind. */
const FIELDS: [string, keyof SlurmOptions, 'string' | 'int' | 'number' | 'list' | 'boolean'][] = [
  ['partition', 'partition', 'string'],
  ['gpu_partition', 'gpuPartition', 'string'],
  ['account', 'account', 'string'],
  ['time', 'time', 'string'],
  ['cpus_per_task', 'cpusPerTask', 'int'],
  ['mem', 'mem', 'string'],
  ['args', 'args', 'list'],
  ['nodes_per_job', 'nodesPerJob', 'int'],
  ['task_seconds', 'taskSeconds', 'number'],
  ['unknown_node_seconds', 'unknownNodeSeconds', 'number'],
  ['min_tasks', 'minTasks', 'int'],
  ['poll_seconds', 'pollSeconds', 'number'],
  ['max_array_size', 'maxArraySize', 'int'],
  ['local_light', 'localLight', 'boolean'],
];

function convert(value: unknown, kind: 'string' | 'int' | 'number' | 'list' | 'boolean', where: string): unknown {
  if (kind === 'boolean') {
    if (value === true || value === 'true' || value === '1') return true;
    if (value === false || value === 'false' || value === '0') return false;
    throw new PipelineError(`expected true or false, got ${JSON.stringify(value)}`, { key: where });
  }
  if (kind === 'list') {
    if (Array.isArray(value)) return value.map(String);
    if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
    throw new PipelineError(`expected a list of sbatch arguments`, { key: where });
  }
  if (kind === 'string') {
    if (typeof value === 'string' || typeof value === 'number') return String(value);
    throw new PipelineError(`expected text`, { key: where });
  }
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || (kind === 'int' && !Number.isInteger(n))) {
    throw new PipelineError(`expected a ${kind === 'int' ? 'whole number' : 'number'} > 0, got ${JSON.stringify(value)}`, { key: where });
  }
  return n;
}

export function resolveSlurmOptions(
  config: Record<string, unknown> | undefined,
  cli: Partial<SlurmOptions>,
  env: NodeJS.ProcessEnv = process.env,
  configLocation?: (key: string) => { file?: string; line?: number; key?: string },
): SlurmOptions {
  const out: Record<string, unknown> = { ...SLURM_DEFAULTS };
  const known = new Set(FIELDS.map((f) => f[0]));
  for (const k of Object.keys(config ?? {})) {
    if (!known.has(k)) throw new PipelineError(`unknown slurm option; expected one of ${[...known].join(', ')}`, configLocation?.(k) ?? { key: `slurm.${k}` });
  }
  for (const [name, field, kind] of FIELDS) {
    const fromConfig = config?.[name];
    if (fromConfig !== undefined) {
      try {
        out[field] = convert(fromConfig, kind, `slurm.${name}`);
      } catch (e) {
        throw new PipelineError((e as Error).message, configLocation?.(name) ?? { key: `slurm.${name}` });
      }
    }
    const fromEnv = env[`PIPELINE_SLURM_${name.toUpperCase()}`];
    if (fromEnv !== undefined && fromEnv !== '') out[field] = convert(fromEnv, kind, `PIPELINE_SLURM_${name.toUpperCase()}`);
    const fromCli = cli[field];
    if (fromCli !== undefined && !(Array.isArray(fromCli) && !fromCli.length)) out[field] = convert(fromCli, kind, `--slurm-${name.replace(/_/g, '-')}`);
  }
  return out as unknown as SlurmOptions;
}

/**
 * The sbatch arguments of one job array: the options, with what its nodes' `resources` ask in
 * their place (one resource class per array, slurm.ts). A stage's `time` is per node and a task
 * runs `nodesPerTask` of them one after another, so the task's --time is that many times it.
 */
export function sbatchResourceArgs(o: SlurmOptions, r: Resources = {}, nodesPerTask = 1): string[] {
  const gpus = r.gpus ?? 0;
  const partition = gpus > 0 && o.gpuPartition ? o.gpuPartition : o.partition;
  const nodeSeconds = r.time !== undefined ? timeSeconds(r.time) : undefined;
  const time = nodeSeconds !== undefined ? String(Math.ceil((nodeSeconds * Math.max(1, nodesPerTask)) / 60)) : o.time;
  const mem = r.mem !== undefined ? `${memMegabytes(r.mem)}M` : o.mem;
  return [
    ...(partition ? [`--partition=${partition}`] : []),
    ...(o.account ? [`--account=${o.account}`] : []),
    ...(time ? [`--time=${time}`] : []),
    `--cpus-per-task=${r.threads ?? o.cpusPerTask}`,
    ...(mem ? [`--mem=${mem}`] : []),
    ...(gpus > 0 ? [`--gres=gpu:${gpus}`] : []),
    ...o.args,
  ];
}
