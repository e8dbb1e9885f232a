/**
 * Runs one node in this process and commits it: take the key's lock (or report who holds it),
 * look again whether the entry appeared, run the stage into a staging folder, commit by rename.
 * Used by the local executor and by `pipeline exec` on a cluster node alike.
 */
import { readFileSync } from 'node:fs';
import type { Cache, ExecutorRecord, NodeMeta } from '../cache.ts';
import { sha256 } from '../hash.ts';
import { outputsDigest, recordInputs } from '../outputs.ts';
import { cachePlace, describeFsFault } from '../fs-faults.ts';
import { failureOf, type ExecOutcome, type Job, type JobFailure, type JobResult, type NodeJob } from './job.ts';

/** A failure in this process's own cache work: a full or read-only cache said in one line. */
function cacheFailure(cache: Cache, e: unknown): JobFailure {
  const failure = failureOf(e);
  if (failure.fsFault) return failure;
  const fault = describeFsFault(e, [cachePlace(cache.dir)]);
  return fault ? { ...failure, message: fault, fsFault: true } : failure;
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
    if (job.bundleSha256 && sha256(readFileSync(job.bundle)) !== job.bundleSha256) {
      return { status: 'failed', failure: { message: `the code of stage ${job.kind} changed after this node was planned; run again` } };
    }
    staging = cache.newStagingDir(job.key);
    const res = await runStage(
      { jobId, nodeId: job.nodeId, bundle: job.bundle, params: job.params, inputs: job.inputs, outDir: staging, root: job.root, verifyInputs: job.verifyInputs, facts: job.facts,
        ...(job.resources?.threads ? { threads: job.resources.threads } : {}),
        ...(job.gpuDevices?.length ? { gpuDevices: job.gpuDevices } : {}),
      },
      onProgress,
    );
    const meta: NodeMeta = {
      key: job.key,
      id: job.nodeId,
      stage: job.stage,
      kind: job.kind,
      record: job.record,
      inputs: recordInputs(job.inputs),
      outputs: res.outputs,
      digest: outputsDigest(res.outputs),
      seconds: res.seconds,
      created: new Date().toISOString(),
      log: res.log,
      ...(executor ? { executor } : {}),
    };
    if (job.force) cache.remove(job.key);
    await cache.commit(staging, meta);
    staging = undefined;
    return { status: 'ran', meta };
  } catch (e) {
    return { status: 'failed', failure: cacheFailure(cache, e) };
  } finally {
    if (staging) cache.discard(staging);
    lock.release();
  }
}
