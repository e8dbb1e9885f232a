/**
 * `pipeline exec <job file>`: what a Slurm task runs on a compute node. It needs only the job
 * file, the project and the cache (shared, at the same paths as on the submitting host): it runs
 * its task's nodes (all ready when submitted, so independent) in worker threads, each under its
 * key's lock, commits each entry, and writes what happened beside the job file. The main thread
 * stays free, so the leases it holds keep their heartbeat however long a stage runs.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import pLimit from 'p-limit';
import { Cache } from '../store/cache.ts';
import { ensureBundle } from '../keys/compile.mjs';
import { PipelineError } from '../errors.ts';
import type { ExecOutcome } from '../executors/job.ts';
import { runNodeHere } from '../executors/run-here.ts';
import { logFile, resultFile, type SlurmJobFile, type TaskResults } from '../executors/slurm.ts';
import { WorkerPool } from '../executors/worker-pool.ts';
import { writeFileAtomic } from '../store/files.ts';
import { join } from 'node:path';

const LOCK_RECHECK_MS = 1000;

export async function execCommand(file: string, opts: { task?: number } = {}): Promise<TaskResults> {
  let jf: SlurmJobFile;
  try {
    jf = JSON.parse(readFileSync(file, 'utf8')) as SlurmJobFile;
  } catch (e) {
    throw new PipelineError(`cannot read the job file: ${(e as Error).message}`, { file });
  }
  if (jf.version !== 1 || !Array.isArray(jf.tasks)) throw new PipelineError('not a pipeline job file (version 1)', { file });
  const index = opts.task ?? Number(process.env.SLURM_ARRAY_TASK_ID ?? 0);
  const nodes = jf.tasks[index];
  if (!nodes) throw new PipelineError(`the job file has ${jf.tasks.length} tasks; there is no task ${index}`, { file });
  const cache = new Cache(jf.cacheDir);
  const jobId = process.env.SLURM_ARRAY_JOB_ID ? `${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID}` : process.env.SLURM_JOB_ID;
  const closeLease = cache.openLease('exec', jobId ? `slurm ${jobId}` : file);
  // Several Slurm nodes may share a host (scripts/slurm/up.sh --nodes N): the node name says which ran it.
  const slurmNode = process.env.SLURMD_NODENAME;
  const results: TaskResults = { host: hostname(), ...(slurmNode ? { node: slurmNode } : {}), nodes: {} };
  const save = () => writeFileAtomic(resultFile(file, index), JSON.stringify(results));
  const cpus = Math.max(1, Number(process.env.SLURM_CPUS_PER_TASK ?? 1) || 1);
  const worker = await ensureBundle(join(jf.packageRoot, 'engine', 'executors', 'worker.ts'), { buildDir: jf.buildDir, root: jf.packageRoot });
  // The nodes of a task share one resource class (slurm.ts): a node of `threads: k` gets k of the
  // task's cores, and nodes asking for GPUs run one at a time on the devices Slurm gave the task.
  const threads = Math.max(1, ...nodes.map((n) => n.resources?.threads ?? 1));
  const gpus = Math.max(0, ...nodes.map((n) => n.resources?.gpus ?? 0));
  const side = Math.max(1, Math.floor(cpus / threads));
  const pool = new WorkerPool(Math.min(gpus > 0 ? 1 : side, nodes.length), worker.file);
  const limit = pLimit(pool.size);
  const record = { name: 'slurm', ...(jobId ? { job: jobId } : {}), host: hostname(), ...(slurmNode ? { node: slurmNode } : {}), log: logFile(file, index) };
  try {
    await Promise.all(
      nodes.map((node, i) =>
        limit(async () => {
          const t0 = performance.now();
          let outcome: ExecOutcome;
          for (;;) {
            outcome = await runNodeHere(cache, (j, p) => pool.run(j, p), node, i, () => {}, record);
            if (outcome.status !== 'locked') break;
            // Another process computes it: wait here (the task's time is ours to spend).
            await new Promise((r) => setTimeout(r, LOCK_RECHECK_MS));
          }
          const seconds = (performance.now() - t0) / 1000;
          results.nodes[node.key] = outcome.status === 'failed' ? { status: 'failed', error: outcome.failure.message, seconds } : { status: outcome.status, seconds };
          process.stderr.write(`${outcome.status}: ${node.nodeId} (${seconds.toFixed(2)} s)${outcome.status === 'failed' ? `\n  ${outcome.failure.stack ?? outcome.failure.message}` : ''}\n`);
          save();
        }),
      ),
    );
  } finally {
    await pool.close();
    closeLease();
  }
  save();
  return results;
}
