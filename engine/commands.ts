/** The CLI's commands; pipeline.ts only parses arguments and prints what these return. */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { ensureBundle } from './compile.mjs';
import { canonicalJson, sha256 } from './hash.ts';
import type { NodeMeta } from './cache.ts';
import { listTargets } from './config.ts';
import { PipelineError } from './errors.ts';
import { LocalExecutor } from './executors/local.ts';
import type { Executor, Job } from './executors/job.ts';
import type { Expansion } from './expand.ts';
import { describeFailures, type Failure } from './failures.ts';
import { removeFailureLogs } from './node-log.ts';
import { createProgress } from './progress.ts';
import { publishTarget, writeReportsIndex } from './publish.ts';
import { schedule, type NodeResult } from './scheduler.ts';
import { openSession, prepareTarget, previousKeys, type Session, type SessionOptions } from './session.ts';

export interface TargetOptions extends SessionOptions {
  profile?: string;
  set?: string[];
  jobs?: number;
  force?: boolean;
  quiet?: boolean;
  /** false: build only (no report, no run record), as `diff` builds a variant. */
  publish?: boolean;
}

export interface RunSummary {
  target: string;
  profile: string;
  ran: number;
  cached: number;
  failed: number;
  skipped: number;
  seconds: number;
  published: string[];
  nodes: NodeResult[];
  /** Failed nodes, one line each (engine/failures.ts). */
  failures: Failure[];
  /** Config stage name -> stage kind, for per-stage summaries. */
  kinds: Record<string, string>;
}

/** Starts the worker pool only when a node actually has to run. */
function lazyExecutor(s: Session, jobs: number): Executor {
  let pool: Promise<LocalExecutor> | undefined;
  const get = () =>
    (pool ??= ensureBundle(join(s.roots.packageRoot, 'engine', 'executors', 'worker.ts'), { buildDir: s.roots.buildDir, root: s.roots.packageRoot }).then(
      (b) => new LocalExecutor(jobs, b.file),
    ));
  return {
    run: async (job: Job, onProgress) => (await get()).run(job, onProgress),
    close: async () => {
      if (pool) await (await pool).close();
    },
  };
}

function summarise(exp: Expansion, target: string, profile: string, results: NodeResult[], seconds: number, published: string[], failures: Failure[] = []): RunSummary {
  const count = (st: string) => results.filter((r) => r.status === st).length;
  const kinds: Record<string, string> = {};
  for (const n of exp.nodes) kinds[n.stage] ??= n.kind;
  // Every node the config names is listed: a stage whose node is another's (the same computation)
  // appears under its own id too, pointing at the shared one; counts count each computation once.
  const byId = new Map(results.map((r) => [r.id, r]));
  const aliases: NodeResult[] = Object.entries(exp.shared ?? {}).map(([id, to]) => ({ ...byId.get(to)!, id, stage: stageOfId(id), shared: to }));
  for (const a of aliases) kinds[a.stage] ??= kinds[byId.get(a.shared!)!.stage];
  return { target, profile, ran: count('ran'), cached: count('cached'), failed: count('failed'), skipped: count('skipped'), seconds, published, nodes: [...results, ...aliases], failures, kinds };
}

/** "fig3/ntk[N=128,d0=1]" -> "ntk": the config stage of a node id. */
function stageOfId(id: string): string {
  return id.replace(/^[\w-]+\//, '').replace(/\[.*$/, '');
}

export async function runCommand(name: string, opts: TargetOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const s = openSession(opts);
  const { target, exp, stages } = await prepareTarget(s, name, opts.profile, opts.set);
  if (existsSync(s.cache.dir)) s.cache.sweepStaging();
  const jobs = opts.jobs ?? s.defaultJobs;
  const executor = lazyExecutor(s, jobs);
  const known = s.cache.readLastRun(target.name);
  const previous = previousKeys(s.cache, target.name);
  const progress = createProgress(exp.nodes, {
    quiet: opts.quiet,
    jobs,
    // Only asked for a node that starts running (the TTY's ETA): a no-op run reads no meta.
    previousSeconds: (n) => {
      const key = previous().get(n.id);
      return key ? s.cache.readMeta(key)?.seconds : undefined;
    },
  });
  let done;
  try {
    done = await schedule(exp, { cache: s.cache, stages, executor, jobs, projectRoot: s.roots.projectRoot, force: opts.force, previous, known, events: progress });
  } finally {
    progress.stop();
    await executor.close();
  }
  const published: string[] = [];
  for (const t of opts.publish === false ? [] : exp.targets) {
    const id = exp.publish[t.name];
    if (!id) continue;
    const r = publishTarget(t, id, { cache: s.cache, reportsDir: s.reportsDir, projectRoot: s.roots.projectRoot, nodes: exp.nodes, results: done, stages, force: opts.force });
    if (r === 'published') published.push(join('reports', t.name));
  }
  if (published.length || (opts.publish !== false && !existsSync(join(s.reportsDir, 'README.md')))) writeReportsIndex(s.reportsDir, s.roots.projectRoot);
  const results = exp.nodes.map((n) => done.get(n.id)!.result);
  const ok = exp.nodes.filter((n) => ['ran', 'cached'].includes(done.get(n.id)!.result.status));
  const keys = Object.fromEntries(ok.map((n) => [n.id, done.get(n.id)!.result.key!]));
  const digests = Object.fromEntries(ok.map((n) => [n.id, done.get(n.id)!.digest!]));
  // A run that computed nothing and matches the last record adds nothing: keeps a no-op fast.
  const unchanged = ok.length === known.size && ok.every((n) => known.get(n.id)?.key === keys[n.id]);
  if (ok.length && !unchanged && opts.publish !== false) s.cache.addRun(target.name, { time: new Date().toISOString(), profile: target.profile, nodes: keys }, digests);
  return summarise(exp, target.name, target.profile, results, (performance.now() - t0) / 1000, published, describeFailures(exp, results, process.cwd()));
}

export async function planCommand(name: string, opts: TargetOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const s = openSession(opts);
  const { target, exp, stages } = await prepareTarget(s, name, opts.profile, opts.set);
  const known = s.cache.readLastRun(target.name);
  const done = await schedule(exp, { cache: s.cache, stages, jobs: 1, projectRoot: s.roots.projectRoot, force: opts.force, dryRun: true, previous: previousKeys(s.cache, target.name), known });
  const results = exp.nodes.map((n) => done.get(n.id)!.result);
  return summarise(exp, target.name, target.profile, results, (performance.now() - t0) / 1000, []);
}

export async function listCommand(opts: SessionOptions): Promise<{ targets: ReturnType<typeof listTargets>; stages: { kind: string; description: string }[] }> {
  const s = openSession(opts);
  const stages = [];
  for (const kind of s.resolver.kinds()) {
    try {
      stages.push({ kind, description: (await s.resolver.load(kind)).def.description });
    } catch (e) {
      stages.push({ kind, description: `(does not load: ${(e as Error).message.split('\n')[0]})` });
    }
  }
  return { targets: listTargets(s.roots.projectRoot), stages };
}

export async function showCommand(what: string, opts: TargetOptions): Promise<unknown> {
  const s = openSession(opts);
  const targetNames = listTargets(s.roots.projectRoot);
  if (targetNames.some((t) => t.name === what || t.aliases.includes(what)) || what.endsWith('.yml')) {
    const { target, exp } = await prepareTarget(s, what, opts.profile, opts.set);
    const perStage = new Map<string, number>();
    for (const n of exp.nodes) perStage.set(n.stage, (perStage.get(n.stage) ?? 0) + 1);
    return {
      target: target.name,
      title: target.title,
      file: target.file,
      profile: target.profile,
      sweep: target.sweep,
      vars: target.vars,
      includes: target.include.map((c) => c.name),
      stages: Object.fromEntries([...perStage]),
      nodes: exp.nodes.length,
      publish: exp.publish,
    };
  }
  // A node id: look it up in the targets' last runs.
  for (const [target, runs] of Object.entries(s.cache.allRefs())) {
    const key = runs[0]?.nodes[what];
    if (!key) continue;
    const meta = s.cache.readMeta(key);
    return { target, dir: s.cache.entryDir(key), ...meta };
  }
  throw new PipelineError(`"${what}" is neither a target nor a node id of a target's last run (see \`pipeline ls\` and \`pipeline plan <target>\`)`);
}

export async function graphCommand(name: string, opts: TargetOptions & { nodes?: boolean }): Promise<string> {
  const s = openSession(opts);
  const { exp } = await prepareTarget(s, name, opts.profile, opts.set);
  const safe = (id: string) => id.replace(/[^\w]/g, '_');
  const lines = ['flowchart LR'];
  if (opts.nodes) {
    for (const n of exp.nodes) lines.push(`  ${safe(n.id)}["${n.id}"]`);
    for (const n of exp.nodes) for (const inp of Object.values(n.inputs)) for (const up of inp.ids) lines.push(`  ${safe(up)} --> ${safe(n.id)}`);
    return lines.join('\n');
  }
  const byId = new Map(exp.nodes.map((n) => [n.id, n]));
  const stageCount = new Map<string, { kind: string; n: number }>();
  const edges = new Set<string>();
  for (const n of exp.nodes) {
    const c = stageCount.get(n.stage) ?? { kind: n.kind, n: 0 };
    c.n++;
    stageCount.set(n.stage, c);
    for (const inp of Object.values(n.inputs)) for (const up of inp.ids) edges.add(`  ${safe(byId.get(up)!.stage)} --> ${safe(n.stage)}`);
  }
  for (const [stage, c] of stageCount) lines.push(`  ${safe(stage)}["${stage}: ${c.kind} x${c.n}"]`);
  lines.push(...edges);
  return lines.join('\n');
}

export interface GcResult {
  removed: number;
  bytes: number;
  kept: number;
  dryRun: boolean;
}

/** Keeps every entry that one of each target's last `keepLast` runs used; removes the rest. */
export function gcCommand(opts: SessionOptions & { dryRun?: boolean; keepLast?: number }): GcResult {
  const s = openSession(opts);
  const keep = new Set<string>();
  for (const runs of Object.values(s.cache.allRefs())) for (const run of runs.slice(0, opts.keepLast ?? 1)) for (const k of Object.values(run.nodes)) keep.add(k);
  let removed = 0;
  let bytes = 0;
  let kept = 0;
  for (const key of [...s.cache.keys()]) {
    if (keep.has(key)) {
      kept++;
      continue;
    }
    removed++;
    bytes += s.cache.entryBytes(key);
    if (!opts.dryRun) s.cache.remove(key);
  }
  if (!opts.dryRun) {
    s.cache.sweepStaging();
    removeFailureLogs(s.cache.dir, keep);
  }
  return { removed, bytes, kept, dryRun: !!opts.dryRun };
}

export function cleanCommand(opts: SessionOptions): { removed: string } {
  const s = openSession(opts);
  rmSync(s.cache.dir, { recursive: true, force: true });
  return { removed: s.cache.dir };
}

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
async function reexecute(s: Session, executor: Executor, meta: NodeMeta, jobId: number): Promise<{ skipped: string } | { differ: string[] }> {
  const stage = await s.resolver.load(meta.kind);
  if (stage.code !== meta.record.parts.stage.code) return { skipped: 'stage code changed since it ran' };
  if (canonicalJson(stage.env) !== canonicalJson(meta.record.parts.env)) return { skipped: 'environment changed since it ran' };
  // Entries written before metas kept their inputs' names cannot be re-run as they ran.
  if (!meta.inputs || Object.values(meta.inputs).some((i) => !Array.isArray(i.refs))) return { skipped: 'recorded by an older version (its inputs were not kept)' };
  const inputs = s.cache.recordedJobInputs(meta);
  if (!inputs) return { skipped: 'an input is no longer in the cache' };
  const scratch = s.cache.newStagingDir(`verify-${meta.key}`);
  try {
    const res = await executor.run({ jobId, nodeId: meta.id, bundle: stage.bundle, params: meta.record.params, inputs, outDir: scratch, root: s.roots.projectRoot }, () => {});
    return { differ: Object.keys({ ...res.outputs, ...meta.outputs }).filter((name) => res.outputs[name]?.sha256 !== meta.outputs[name]?.sha256) };
  } catch (e) {
    // A node that ran once and now fails is not reproducible either.
    return { differ: [`(re-execution failed: ${(e as Error).message.split('\n')[0]})`] };
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
  let keys: string[];
  if (opts.target) {
    const last = s.cache.readLastRun(opts.target);
    if (!last.size) throw new PipelineError(`target "${opts.target}" has not been run with this cache (${s.cache.dir})`);
    keys = [...new Set([...last.values()].map((v) => v.key))];
  } else keys = [...s.cache.keys()];
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
  const executor = lazyExecutor(s, jobs);
  const limit = pLimit(jobs);
  let jobId = 0;
  try {
    await Promise.all(
      chosen.map((key) =>
        limit(async () => {
          const meta = s.cache.readMeta(key)!;
          const r = await reexecute(s, executor, meta, jobId++);
          if ('skipped' in r) return void result.skipped.push({ id: meta.id, reason: r.skipped });
          result.reexecuted++;
          if (r.differ.length) result.differing.push({ key, id: meta.id, outputs: r.differ });
        }),
      ),
    );
  } finally {
    await executor.close();
  }
  return result;
}
