/**
 * Runs one node in this process and commits it: take the key's lock (or report who holds it),
 * look again whether the entry appeared, run the stage into a staging folder, commit by rename.
 * Used by the local executor and by `pipeline exec` on a cluster node alike.
 */
import { readFileSync } from 'node:fs';
import type { Cache, ExecutorRecord, NodeMeta } from '../store/cache.ts';
import { runCommandJob } from '../command/run.ts';
import { writeDepsLog } from '../command/identity.ts';
import { canonicalJson, sha256 } from '../keys/hash.ts';
import { makeKey } from '../keys/key.ts';
import { outputsDigest, recordInputs } from '../store/outputs.ts';
import { cachePlace, describeFsFault } from '../store/fs-faults.ts';
import { failureOf, type ExecOutcome, type Job, type JobFailure, type JobResult, type NodeJob } from './job.ts';

/** A failure in this process's own cache work: a full or read-only cache said in one line. */
function cacheFailure(cache: Cache, e: unknown): JobFailure {
  const failure = failureOf(e);
  if (failure.fsFault) return failure;
  const fault = describeFsFault(e, [cachePlace(cache.dir)]);
  return fault ? { ...failure, message: fault, fsFault: true } : failure;
}

/**
 * The key an entry is filed under: the planned one, or, when the program reported deps it
 * discovered that differ from those the key was made with, the key recomputed with them
 * (key' = hash(static parts + discovered deps' fingerprints)). One key, one computation: the
 * entry never sits under a key whose deps it did not use. Files the key already holds
 * statically (the script, declared deps) are not repeated.
 */
function withDiscoveredDeps(job: NodeJob, res: JobResult): { key: string; record: NodeJob['record'] } {
  if (!res.discovered) return { key: job.key, record: job.record };
  const deps = Object.fromEntries(Object.entries(res.discovered).filter(([f]) => !(f in job.record.sources)).sort(([a], [b]) => (a < b ? -1 : 1)));
  const parts = { ...job.record.parts };
  delete parts.deps;
  if (Object.keys(deps).length) parts.deps = deps;
  if (canonicalJson(parts.deps ?? {}) === canonicalJson(job.record.parts.deps ?? {})) return { key: job.key, record: job.record };
  return { key: makeKey(parts), record: { ...job.record, parts } };
}

export type StageRunner = (job: Job, onProgress: (fraction: number, note?: string) => void) => Promise<JobResult>;

export async function runNodeHere(
  cache: Cache,
  runStage: StageRunner,
  job: NodeJob,
  jobId: number,
  onProgress: (fraction: number, note?: string) => void,
  executor?: ExecutorRecord,
): Promise<ExecOutcome> {
  let lock;
  try {
    lock = cache.lock(job.key, job.nodeId);
  } catch (e) {
    return { status: 'failed', failure: cacheFailure(cache, e) };
  }
  if ('held' in lock) return { status: 'locked', holder: cache.describeLock(lock.held) };
  let staging: string | undefined;
  try {
    if (!job.force) {
      const meta = cache.checkedMeta(job.key);
      if (meta) return { status: 'cached', meta };
    }
    if (job.bundle && job.bundleSha256 && sha256(readFileSync(job.bundle)) !== job.bundleSha256) {
      return { status: 'failed', failure: { message: `the code of stage ${job.kind} changed after this node was planned; run again` } };
    }
    staging = cache.newStagingDir(job.key);
    const j: Job = {
      jobId, nodeId: job.nodeId, bundle: job.bundle, params: job.params, inputs: job.inputs, outDir: staging, root: job.root, verifyInputs: job.verifyInputs, facts: job.facts,
      ...(job.resources?.threads ? { threads: job.resources.threads } : {}),
      ...(job.gpuDevices?.length ? { gpuDevices: job.gpuDevices } : {}),
      ...(job.command ? { command: job.command } : {}),
    };
    // A command node runs as a child process of this one; a TypeScript stage in a worker thread.
    const res = job.command ? await runCommandJob(j, onProgress) : await runStage(j, onProgress);
    const { key, record } = withDiscoveredDeps(job, res);
    const meta: NodeMeta = {
      key,
      id: job.nodeId,
      stage: job.stage,
      kind: job.kind,
      record,
      inputs: recordInputs(job.inputs),
      outputs: res.outputs,
      digest: outputsDigest(res.outputs),
      seconds: res.seconds,
      created: new Date().toISOString(),
      log: res.log,
      ...(executor ? { executor } : {}),
      ...(job.command ? { command: job.command } : {}),
    };
    if (job.force) cache.remove(key);
    await cache.commit(staging, meta);
    staging = undefined;
    if (res.discovered && job.staticKey) writeDepsLog(cache.dir, job.staticKey, Object.keys(record.parts.deps ?? {}));
    return { status: 'ran', meta };
  } catch (e) {
    return { status: 'failed', failure: cacheFailure(cache, e) };
  } finally {
    if (staging) cache.discard(staging);
    lock.release();
  }
}
