/**
 * Limits checked before any work starts, so that a mistyped or hostile config fails in
 * milliseconds with its location instead of running for minutes, exhausting memory or aborting.
 * Each number says why it is what it is; the checks that use them live where the data is read.
 */
import { availableParallelism } from 'node:os';
import { constants } from 'node:buffer';
import { PipelineError } from '../errors.ts';
import { memoryBytes } from '../memory.ts';

// Stages import these from memory.ts (see there); re-exported for the engine's use.
export { formatBytes, maxFloat64Values, maxSquareSide, memoryBytes, squareMatrixReason } from '../memory.ts';

/**
 * Default node budget of one command (a target and everything it includes), counted per stage
 * from the sweep sizes before any node is built, and before nodes that targets share are merged:
 * the full paper counts ~6,400 for its 3,449 nodes. Planning costs ~0.25 ms and ~10 KB a node
 * here, so 50,000 (8x the paper) plans in ~15 s and ~500 MB: beyond that a sweep is far more
 * likely a typo (`repeat: 1e6`) than an experiment. Raise it with --max-nodes or PIPELINE_MAX_NODES.
 */
export const DEFAULT_MAX_NODES = 50_000;

/**
 * Param values (after `${...}` substitution) per node of the node budget, summed over a command's
 * nodes. The full paper's 3,449 nodes hold ~50,000 together (35 at most in one); 20 per node
 * allows 1,000,000 at the default budget, which substitute, check and hash in under a second.
 */
export const PARAM_VALUES_PER_NODE = 20;

/** Inputs handed to nodes (a gathered input of k upstream nodes counts k) per node allowed. */
export const EDGES_PER_NODE = 20;

/**
 * Largest config file read. The shipped configs are under 5 KB; 256 KiB of YAML (a list of
 * ~50,000 numbers) parses in ~0.1 s here, while 600 KB already took 1.5 s on a busy machine.
 * A bigger file is generated data, not a config (a sweep of 10^6 literal values is ~7 MB).
 */
export const MAX_CONFIG_BYTES = 256 << 10;

/**
 * Values one parsed config document may hold once YAML aliases are expanded. js-yaml keeps an
 * alias as a shared reference, so a 1 KB "billion laughs" document loads instantly but is 10^9
 * values to anything that walks it (merging, substitution, hashing, `show`). Counting the walk
 * with a budget bounds every later walk; 100,000 values is ~100x the largest shipped config.
 */
export const MAX_CONFIG_VALUES = 100_000;

/**
 * Largest data file (dataset-file) read: V8's longest string (~512 MiB), since the file is
 * decoded as text. Checked with a stat before reading.
 */
export const MAX_DATA_FILE_BYTES = constants.MAX_STRING_LENGTH;

/**
 * Most nodes run at once on this machine. Each local job is a worker thread with its own heap
 * and its stage's working set (tens to hundreds of MB); nodes are CPU-bound, so jobs beyond the
 * cores only add memory and contention. 4x the cores leaves room for nodes that wait on I/O
 * (`--jobs 1000` started 1000 workers and took 2.4 GB before doing any work).
 */
export function maxJobs(): number {
  return 4 * availableParallelism();
}

/**
 * The most the node budget may be raised to: planning holds ~10 KB a node (its params, inputs,
 * key parts), so a budget beyond memory / 16 KiB (~1.5 million here) cannot be planned anyway.
 */
export function maxNodeBudget(): number {
  return Math.floor(memoryBytes() / (16 << 10));
}

export const NODE_BUDGET_REASON = 'planning holds ~10 KB a node in memory';

/** The node budget: --max-nodes, else $PIPELINE_MAX_NODES, else the default. */
export function resolveMaxNodes(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (option !== undefined) return option;
  const raw = env.PIPELINE_MAX_NODES;
  if (raw === undefined || raw === '') return DEFAULT_MAX_NODES;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < 1) throw new PipelineError(`expects a whole number >= 1, got "${raw.slice(0, 40)}"`, { key: 'PIPELINE_MAX_NODES' });
  if (n > maxNodeBudget()) throw new PipelineError(`expects at most ${maxNodeBudget()} (${NODE_BUDGET_REASON}), got ${n}`, { key: 'PIPELINE_MAX_NODES' });
  return n;
}

/**
 * Parses a whole-number command-line option, naming the option in the error (`gc --keep-last 0`
 * used to answer "--jobs expects ...").
 */
export function wholeNumberOption(option: string, min: number, max = Number.MAX_SAFE_INTEGER, why = ''): (value: string) => number {
  return (value: string) => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new PipelineError(`expects a whole number >= ${min}, got "${value.slice(0, 40)}"`, { key: option });
    if (n > max) throw new PipelineError(`expects at most ${max}${why ? ` (${why})` : ''}, got ${n}`, { key: option });
    return n;
  };
}
