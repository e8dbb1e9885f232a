/**
 * Runs a node list in dependency order. A node's key is computed when its inputs are done (their
 * output digests are part of it: early cutoff); a cached key is not run. At most `jobs` nodes
 * run at once (p-limit); a failed node skips its dependants while independent nodes go on.
 */
import pLimit from 'p-limit';
import { Cache, outputsDigest, type NodeMeta } from './cache.ts';
import type { Expansion, PlanNode } from './expand.ts';
import type { Executor } from './executors/job.ts';
import { explainChange, keyParts, makeKey, type GatheredInput, type KeyRecord } from './key.ts';
import { writeFailureLog } from './node-log.ts';
import { recordInputs, type JobInputs } from './outputs.ts';
import type { LoadedStage } from './stages.ts';

export type NodeStatus = 'ran' | 'cached' | 'failed' | 'skipped' | 'would-run';

export interface NodeResult {
  id: string;
  stage: string;
  status: NodeStatus;
  key?: string;
  /** For a node that ran (or would run): which key parts changed since it last ran. */
  changed?: string[];
  seconds?: number;
  /** Why it failed (one line: the error's message) or was skipped. */
  error?: string;
  /** A failed node's log: message, stack, params (engine/node-log.ts). */
  logPath?: string;
  /** This id names the same computation as node `shared` (one entry, listed under both ids). */
  shared?: string;
}

export interface RunEvents {
  nodeStart?(node: PlanNode): void;
  nodeProgress?(node: PlanNode, fraction: number, note?: string): void;
  nodeEnd?(node: PlanNode, result: NodeResult): void;
}

export interface SchedulerOptions {
  cache: Cache;
  stages: Map<string, LoadedStage>;
  executor?: Executor;
  jobs: number;
  projectRoot: string;
  force?: boolean;
  dryRun?: boolean;
  /** Node id -> key of the previous run, for explanations; called only for nodes that (would) run. */
  previous: () => Map<string, string>;
  /** The last run's keys and digests: a no-op run then stats entries instead of parsing meta.json. */
  known?: KnownEntries;
  events?: RunEvents;
}

const LOCK_POLL_MS = 100;

/** A finished node: its key and output digest, and its meta when it was read or written. */
interface Done {
  result: NodeResult;
  digest?: string;
  meta?: NodeMeta;
}

/** What the last run recorded per node: a key whose entry still exists keeps its digest. */
export type KnownEntries = Map<string, { key: string; digest: string }>;

export async function schedule(exp: Expansion, opts: SchedulerOptions): Promise<Map<string, Done>> {
  const { cache } = opts;
  const limit = pLimit(Math.max(1, opts.jobs));
  const byId = new Map(exp.nodes.map((n) => [n.id, n]));
  const done = new Map<string, Promise<Done>>();
  const settled = new Map<string, Done>();
  let jobCounter = 0;

  const explain = (node: PlanNode, record: KeyRecord): string[] => {
    const prevKey = opts.previous().get(node.id);
    const prev = prevKey ? cache.readMeta(prevKey)?.record : undefined;
    return explainChange(prev, record);
  };

  const cachedDone = (node: PlanNode, key: string, meta: NodeMeta): Done => ({ result: { id: node.id, stage: node.stage, status: 'cached', key }, digest: meta.digest, meta });

  /** Where a job reads its inputs: needs each upstream meta (its output list), read only now. */
  const inputRefs = (node: PlanNode, ups: Map<string, Done>): JobInputs => {
    const refs: JobInputs = {};
    for (const [port, inp] of Object.entries(node.inputs)) {
      refs[port] = {
        gather: inp.gather,
        refs: inp.ids.map((id) => {
          const up = byId.get(id)!;
          const d = ups.get(id)!;
          const meta = d.meta ?? cache.readMeta(d.result.key!);
          if (!meta) throw new Error(`the cache entry of ${id} disappeared during the run`);
          return cache.inputRef(meta, up);
        }),
      };
    }
    return refs;
  };

  const execute = async (node: PlanNode, stage: LoadedStage, key: string, record: KeyRecord, ups: Map<string, Done>): Promise<Done> => {
    const changed = opts.force ? ['forced (--force)'] : explain(node, record);
    // Wait for (or share) the work of another process computing the same key.
    let release = cache.tryLock(key);
    while (!release) {
      const meta = cache.readMeta(key);
      if (meta && !opts.force) return cachedDone(node, key, meta);
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
      release = cache.tryLock(key);
    }
    try {
      const already = opts.force ? undefined : cache.readMeta(key);
      if (already) return cachedDone(node, key, already);
      opts.events?.nodeStart?.(node);
      const staging = cache.newStagingDir(key);
      try {
        const inputs = inputRefs(node, ups);
        const job = { jobId: jobCounter++, nodeId: node.id, bundle: stage.bundle, params: node.params, inputs, outDir: staging, root: opts.projectRoot };
        const res = await opts.executor!.run(job, (f, note) => opts.events?.nodeProgress?.(node, f, note));
        const meta: NodeMeta = {
          key,
          id: node.id,
          stage: node.stage,
          kind: node.kind,
          record,
          inputs: recordInputs(inputs),
          outputs: res.outputs,
          digest: outputsDigest(res.outputs),
          seconds: res.seconds,
          created: new Date().toISOString(),
          log: res.log,
        };
        if (opts.force) cache.remove(key);
        cache.commit(staging, meta);
        return { result: { id: node.id, stage: node.stage, status: 'ran', key, changed, seconds: res.seconds }, digest: meta.digest, meta };
      } catch (e) {
        cache.discard(staging);
        const message = e instanceof Error ? e.message : String(e);
        const logPath = writeFailureLog(cache.dir, { id: node.id, stage: node.stage, kind: node.kind, key, params: node.params, error: e });
        return { result: { id: node.id, stage: node.stage, status: 'failed', key, changed, error: message, logPath } };
      }
    } finally {
      release();
    }
  };

  const visit = async (node: PlanNode): Promise<Done> => {
    const ups = new Map<string, Done>();
    for (const inp of Object.values(node.inputs)) for (const id of inp.ids) ups.set(id, await done.get(id)!);
    const stage = opts.stages.get(node.kind)!;
    const blocked = [...ups.values()].find((u) => u.result.status !== 'ran' && u.result.status !== 'cached');
    if (blocked) {
      if (blocked.result.status === 'would-run') return { result: { id: node.id, stage: node.stage, status: 'would-run', changed: [`upstream ${blocked.result.id} will run`] } };
      return { result: { id: node.id, stage: node.stage, status: 'skipped', error: `upstream ${blocked.result.id} ${blocked.result.status}` } };
    }
    const keyInputs: Record<string, string | GatheredInput[]> = {};
    for (const [port, inp] of Object.entries(node.inputs)) {
      const digests = inp.ids.map((id) => ups.get(id)!.digest!);
      keyInputs[port] = inp.gather ? inp.ids.map((id, i) => ({ stage: byId.get(id)!.stage, coords: byId.get(id)!.coords, digest: digests[i] })) : digests[0];
    }
    const parts = keyParts(node.kind, stage.code, node.params, keyInputs, stage.env);
    const key = makeKey(parts);
    if (!opts.force) {
      // Same key as last time and the entry is still there: its digest is known, skip meta.json.
      const known = opts.known?.get(node.id);
      if (known && known.key === key && cache.hasEntry(key)) return { result: { id: node.id, stage: node.stage, status: 'cached', key }, digest: known.digest };
      const meta = cache.readMeta(key);
      if (meta) return cachedDone(node, key, meta);
    }
    const record: KeyRecord = { parts, params: node.params, sources: stage.sources };
    if (opts.dryRun) return { result: { id: node.id, stage: node.stage, status: 'would-run', key, changed: opts.force ? ['forced (--force)'] : explain(node, record) } };
    return limit(() => execute(node, stage, key, record, ups));
  };

  for (const node of exp.nodes) {
    const p = visit(node).then((d) => {
      settled.set(node.id, d);
      opts.events?.nodeEnd?.(node, d.result);
      return d;
    });
    done.set(node.id, p);
  }
  await Promise.all(done.values());
  return settled;
}
