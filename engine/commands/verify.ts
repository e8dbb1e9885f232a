/** `pipeline verify`: re-hash stored outputs; re-execute a sample and compare bytes. */
import pLimit from 'p-limit';
import { Fingerprints } from '../command/identity.ts';
import { runCommandJob } from '../command/run.ts';
import type { NodeMeta } from '../store/cache.ts';
import { PipelineError } from '../errors.ts';
import { targetNameProblem } from '../config/names.ts';
import { failureOf } from '../executors/job.ts';
import { WorkerPool } from '../executors/worker-pool.ts';
import { canonicalJson, sha256 } from '../keys/hash.ts';
import { openSession, type Session, type SessionOptions } from '../run/session.ts';
import { workerFile } from './shared.ts';

export interface VerifyResult {
  checked: number;
  corrupt: { key: string; id: string; files: string[] }[];
  reexecuted: number;
  differing: { key: string; id: string; outputs: string[] }[];
  skipped: { id: string; reason: string }[];
}

/** A deterministic sample of a fraction p of the keys: those whose salted hash is smallest. */
function sampleKeys(keys: string[], p: number): string[] {
  return keys
    .map((k) => ({ k, h: sha256(`verify:${k}`) }))
    .sort((a, b) => (a.h < b.h ? -1 : 1))
    .slice(0, Math.ceil(p * keys.length))
    .map((x) => x.k);
}

/**
 * Runs a cached node again in a scratch folder, from the inputs its job read, and names the
 * outputs whose digests differ; or says why it cannot be re-executed as it ran.
 */
async function reexecute(s: Session, pool: () => Promise<WorkerPool>, meta: NodeMeta, jobId: number): Promise<{ skipped: string } | { differ: string[] }> {
  if (meta.command) return reexecuteCommand(s, meta);
  const stage = await s.resolver.load(meta.kind);
  if (stage.code !== meta.record.parts.stage.code) return { skipped: 'stage code changed since it ran' };
  if (canonicalJson(stage.env) !== canonicalJson(meta.record.parts.env)) return { skipped: 'environment changed since it ran' };
  // Entries written before metas kept their inputs' names cannot be re-run as they ran.
  if (!meta.inputs || Object.values(meta.inputs).some((i) => !Array.isArray(i.refs))) return { skipped: 'recorded by an older version (its inputs were not kept)' };
  const inputs = s.cache.recordedJobInputs(meta);
  if (!inputs) return { skipped: 'an input is no longer in the cache' };
  const scratch = s.cache.newStagingDir(`verify-${meta.key}`);
  try {
    const res = await (await pool()).run({ jobId, nodeId: meta.id, bundle: stage.bundle, params: meta.record.params, inputs, outDir: scratch, root: s.roots.projectRoot, facts: stage.facts }, () => {});
    return { differ: Object.keys({ ...res.outputs, ...meta.outputs }).filter((name) => res.outputs[name]?.sha256 !== meta.outputs[name]?.sha256) };
  } catch (e) {
    // A node that ran once and now fails is not reproducible either.
    return { differ: [`(re-execution failed: ${failureOf(e).message.split('\n')[0]})`] };
  } finally {
    s.cache.discard(scratch);
  }
}

/** A command node again, as it ran: skipped when it says it is not deterministic or its files changed. */
async function reexecuteCommand(s: Session, meta: NodeMeta): Promise<{ skipped: string } | { differ: string[] }> {
  const cmd = meta.command!;
  if (!cmd.spec.deterministic) return { skipped: 'deterministic: false (a command that cannot be bit-reproducible)' };
  const fps = new Fingerprints(s.roots.projectRoot, s.cache.dir, true);
  const py = cmd.program.python ? { exe: cmd.program.exe, identity: cmd.interpreter } : undefined;
  const recorded = { ...meta.record.sources, ...(meta.record.parts.deps ?? {}) };
  const now = fps.files(Object.keys(recorded), py);
  const changed = Object.keys(recorded).filter((f) => now[f] !== recorded[f]);
  if (changed.length) return { skipped: `code changed since it ran (${changed.join(', ')})` };
  if (fps.interpreter(cmd.program.exe, cmd.program.python) !== cmd.interpreter) return { skipped: 'interpreter changed since it ran' };
  if (!meta.inputs || Object.values(meta.inputs).some((i) => !Array.isArray(i.refs))) return { skipped: 'recorded by an older version (its inputs were not kept)' };
  const inputs = s.cache.recordedJobInputs(meta);
  if (!inputs) return { skipped: 'an input is no longer in the cache' };
  const scratch = s.cache.newStagingDir(`verify-${meta.key}`);
  try {
    const res = await runCommandJob({ jobId: 0, nodeId: meta.id, bundle: '', params: meta.record.params, inputs, outDir: scratch, root: s.roots.projectRoot, command: { ...cmd, failureLogBase: `${scratch}.failed` } }, () => {});
    return { differ: Object.keys({ ...res.outputs, ...meta.outputs }).filter((name) => res.outputs[name]?.sha256 !== meta.outputs[name]?.sha256) };
  } catch (e) {
    return { differ: [`(re-execution failed: ${failureOf(e).message.split('\n')[0]})`] };
  } finally {
    s.cache.discard(scratch);
  }
}

/**
 * Re-hashes stored outputs (a damaged entry is reported and removed, so the next run recomputes
 * it), then re-executes a deterministic sample of entries in a scratch folder and compares their
 * outputs byte for byte (by digest) with the stored ones.
 */
export async function verifyCommand(opts: SessionOptions & { target?: string; sample?: number; jobs?: number }): Promise<VerifyResult> {
  const s = openSession(opts);
  // What to check is known before the cache is touched: a bad target or a missing cache folder
  // is said without creating anything (verify is a reader; it only removes damaged entries).
  let keys: string[];
  if (opts.target) {
    const bad = targetNameProblem(opts.target);
    if (bad) throw new PipelineError(bad, { key: '[target]' });
    const last = s.cache.readLastRun(opts.target);
    if (!last.size) throw new PipelineError(`target "${opts.target}" has not been run with this cache (${s.cache.dir})`);
    keys = [...new Set([...last.values()].map((v) => v.key))];
  } else keys = [...s.cache.keys()];
  if (!keys.length) return { checked: 0, corrupt: [], reexecuted: 0, differing: [], skipped: [] };
  const closeLease = s.cache.openLeaseIfWritable('verify');
  try {
    return await verifyWith(s, keys, opts);
  } finally {
    closeLease();
  }
}

async function verifyWith(s: Session, keys: string[], opts: { sample?: number; jobs?: number }): Promise<VerifyResult> {
  const corrupt: VerifyResult['corrupt'] = [];
  for (const key of keys) {
    const files = s.cache.corruptOutputs(key);
    if (!files.length) continue;
    corrupt.push({ key, id: s.cache.readMeta(key)?.id ?? '?', files });
    s.cache.remove(key);
  }
  const result: VerifyResult = { checked: keys.length, corrupt, reexecuted: 0, differing: [], skipped: [] };
  if (!opts.sample) return result;
  const chosen = sampleKeys(keys.filter((k) => !corrupt.some((c) => c.key === k)), opts.sample);
  const jobs = opts.jobs ?? s.defaultJobs;
  let pool: Promise<WorkerPool> | undefined;
  const getPool = () => (pool ??= workerFile(s)().then((f) => new WorkerPool(jobs, f)));
  const limit = pLimit(jobs);
  let jobId = 0;
  try {
    await Promise.all(
      chosen.map((key) =>
        limit(async () => {
          const meta = s.cache.readMeta(key)!;
          const r = await reexecute(s, getPool, meta, jobId++);
          if ('skipped' in r) return void result.skipped.push({ id: meta.id, reason: r.skipped });
          result.reexecuted++;
          if (r.differ.length) result.differing.push({ key, id: meta.id, outputs: r.differ });
        }),
      ),
    );
  } finally {
    if (pool) await (await pool).close();
  }
  return result;
}
