/**
 * Runs a node list in dependency order, each node in four steps:
 *   1. resolve its key (when its inputs are done: their output digests are part of it, which
 *      gives early cutoff);
 *   2. probe the cache (a hit is not run);
 *   3. hand it to the executor, which takes the key's lock and runs it; a key locked by another
 *      live process is set aside and come back to, while other ready nodes go on;
 *   4. record the outcome. An input found damaged while running is removed, recomputed, and the
 *      reader run again: nothing is ever filed from damaged bytes.
 * Without an executor the same walk is `plan`: steps 1–2, then "would run".
 * At most `executor.slots` slots are in use at once (slot-gate.ts): a node of `threads: k` takes
 * k of them on the local pool, and its `gpus` take devices of their own; a failed node skips its
 * dependants while independent nodes go on.
 */
import { readFileSync } from 'node:fs';
import type { Cache, ExecutorRecord, NodeMeta } from '../store/cache.ts';
import type { Expansion, PlanNode } from '../config/expand.ts';
import type { Executor, JobFailure, NodeJob } from '../executors/job.ts';
import { sha256 } from '../keys/hash.ts';
import { explainChange, nodeKey, type KeyRecord } from '../keys/key.ts';
import type { JobInputs } from '../store/outputs.ts';
import { JobError, writeFailureLog } from './node-log.ts';
import { slotsFor } from '../config/resources.ts';
import { SlotGate } from './slot-gate.ts';
import type { LoadedStage } from '../keys/stages.ts';
import { LayeredStore } from '../store/layered.ts';
import { CommandKeys, commandJob } from '../command/keys.ts';
import type { CommandIdentity } from '../command/identity.ts';

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
  /** Where it ran when not in this process (a Slurm job). */
  executor?: ExecutorRecord;
  /** A failed node's log: message, stack, params (engine/run/node-log.ts). */
  logPath?: string;
  /** A cached node whose entry was fetched from the remote cache by this run. */
  pulled?: boolean;
  /** This id names the same computation as node `shared` (one entry, listed under both ids). */
  shared?: string;
}

export interface RunEvents {
  nodeStart?(node: PlanNode): void;
  nodeProgress?(node: PlanNode, fraction: number, note?: string): void;
  /** The node's key is locked by another live process: it waits while other nodes go on. */
  nodeWaiting?(node: PlanNode, holder: string): void;
  nodeEnd?(node: PlanNode, result: NodeResult): void;
}

export interface SchedulerOptions {
  cache: Cache;
  stages: Map<string, LoadedStage>;
  /** Absent: a dry run (plan). */
  executor?: Executor;
  projectRoot: string;
  force?: boolean;
  /** Hash inputs against their recorded digests before a stage reads them (default on). */
  verifyInputs?: boolean;
  /** Node id -> key of the previous run, for explanations; called only for nodes that (would) run. */
  previous: () => Map<string, string>;
  /** The last run's keys and digests: a no-op run then stats entries instead of parsing meta.json. */
  known?: KnownEntries;
  /** Where the probe looks: the local cache, then a remote (default: the local cache alone). */
  store?: LayeredStore;
  events?: RunEvents;
}

/** How often a node set aside on another process's lock looks again. */
const LOCK_RECHECK_MS = 250;
/** Times a node is re-run after one of its inputs was found damaged and recomputed. */
const MAX_RECOVERIES = 2;

/** A finished node: its key and output digest, and its meta when it was read or written. */
export interface Done {
  result: NodeResult;
  digest?: string;
  meta?: NodeMeta;
}

/** What the last run recorded per node: a hint, trusted only while its entry's meta stamp matches. */
export type KnownEntries = Map<string, { key: string; digest: string; stamp?: string }>;

/** A node whose key is resolved: all that running it (again) needs. */
interface Resolved {
  node: PlanNode;
  stage: LoadedStage;
  key: string;
  record: KeyRecord;
  ups: Map<string, Done>;
  staticKey: string;
  command?: CommandIdentity;
}

export async function schedule(exp: Expansion, opts: SchedulerOptions): Promise<Map<string, Done>> {
  const { cache, executor } = opts;
  const store = opts.store ?? new LayeredStore(cache);
  const slots = Math.max(1, executor?.slots ?? 1);
  const gate = new SlotGate(slots, executor?.gpuDevices ?? []);
  const demandOf = (node: PlanNode) => ({
    slots: executor?.threadSlots ? slotsFor(node.resources, slots) : 1,
    gpus: executor?.gpuDevices ? (node.resources?.gpus ?? 0) : 0,
  });
  const byId = new Map(exp.nodes.map((n) => [n.id, n]));
  const done = new Map<string, Promise<Done>>();
  const settled = new Map<string, Done>();
  const resolvedById = new Map<string, Resolved>();
  const recoveries = new Map<string, Promise<Done>>();
  /** Set by the first filesystem fault (a full or read-only cache): nothing more is started. */
  let stopped: string | undefined;
  const bundleDigests = new Map<string, string>();
  // Command nodes: `run` may probe the interpreter and parse Python (never plan: no executor).
  const commandKeys = new CommandKeys(opts.projectRoot, cache.dir, !!executor);

  /** The node's last build (by id), read once: for explanations and run-time estimates. */
  const previousMeta = (node: PlanNode): NodeMeta | undefined => {
    const prevKey = opts.previous().get(node.id);
    return prevKey ? cache.readMeta(prevKey) : undefined;
  };

  const explain = (node: PlanNode, record: KeyRecord, prev = previousMeta(node)): string[] => {
    if (opts.force) return ['forced (--force)'];
    return explainChange(prev?.record, record);
  };

  const resultOf = (node: PlanNode, status: NodeStatus, extra: Partial<NodeResult> = {}): NodeResult => ({ id: node.id, stage: node.stage, status, ...extra });
  const cachedDone = (node: PlanNode, meta: NodeMeta): Done => ({ result: resultOf(node, 'cached', { key: meta.key }), digest: meta.digest, meta });

  /** Step 1: the key, from the stage's code and env, the params and the upstream digests. */
  const resolveKey = (node: PlanNode, stage: LoadedStage, ups: Map<string, Done>): Resolved => {
    const command = node.command ? commandKeys.identity(node.command) : undefined;
    const { key, record, staticKey } = nodeKey(
      node,
      command ?? stage,
      (id) => ({ stage: byId.get(id)!.stage, coords: byId.get(id)!.coords, digest: ups.get(id)!.digest! }),
      command ? (sk) => commandKeys.deps(sk, command) : undefined,
    );
    const r: Resolved = { node, stage, key, record, ups, staticKey, ...(command ? { command } : {}) };
    resolvedById.set(node.id, r);
    return r;
  };

  /** Step 2: a complete entry under the key, from the store's layers (store/layered.ts). */
  const probeCache = async (node: PlanNode, key: string): Promise<Done | undefined> => {
    if (opts.force) return undefined;
    const hit = await store.probe(key, opts.known?.get(node.id));
    if (!hit) return undefined;
    return { result: resultOf(node, 'cached', { key, ...(hit.pulled ? { pulled: true } : {}) }), digest: hit.digest, ...(hit.meta ? { meta: hit.meta } : {}) };
  };

  /** Where a job reads its inputs; undefined names an upstream whose entry has gone. */
  const inputRefs = (r: Resolved): { refs: JobInputs } | { missing: string } => {
    const refs: JobInputs = {};
    for (const [port, inp] of Object.entries(r.node.inputs)) {
      const list = [];
      for (const id of inp.ids) {
        const d = r.ups.get(id)!;
        const meta = d.meta ?? cache.readMeta(d.result.key!);
        if (!meta) return { missing: d.result.key! };
        list.push(cache.inputRef(meta, byId.get(id)!));
      }
      refs[port] = { gather: inp.gather, refs: list };
    }
    return { refs };
  };

  const bundleDigest = (file: string): string => {
    let d = bundleDigests.get(file);
    if (!d) bundleDigests.set(file, (d = sha256(readFileSync(file))));
    return d;
  };

  /**
   * An upstream entry was found damaged or gone: remove it, run its node again (deterministic
   * stages give the same bytes), and hand the reader the fresh entry. Shared by every reader.
   */
  const recoverUpstream = (r: Resolved, key: string): Promise<void> => {
    const ids = [...r.ups.keys()].filter((id) => r.ups.get(id)!.result.key === key);
    return Promise.all(
      ids.map(async (id) => {
        let p = recoveries.get(`${id}:${key}`);
        if (!p) {
          cache.remove(key);
          const up = resolvedById.get(id)!;
          p = runNode(up, 0, true);
          recoveries.set(`${id}:${key}`, p);
        }
        const fresh = await p;
        const before = r.ups.get(id)!;
        if (fresh.result.status !== 'ran' && fresh.result.status !== 'cached') throw new Error(`input ${id} was damaged and recomputing it failed: ${fresh.result.error}`);
        if (fresh.digest !== before.digest) throw new Error(`input ${id} was damaged and recomputed to other bytes (its stage is not deterministic); run again`);
        r.ups.set(id, fresh);
        // The summary reports the node as run again, and why.
        settled.set(id, { ...fresh, result: { ...fresh.result, changed: [`its cache entry was damaged (${key.slice(0, 12)}): recomputed`] } });
      }),
    ).then(() => undefined);
  };

  /** A failed node: one line for the terminal, the whole story (stack, params) in its log file. */
  const failedDone = (r: Resolved, failure: JobFailure, changed: string[], executorRecord?: ExecutorRecord): Done => {
    if (failure.fsFault) stopped ??= failure.message;
    const logPath = writeFailureLog(cache.dir, { id: r.node.id, stage: r.node.stage, kind: r.node.kind, key: r.key, params: r.node.params, error: new JobError(failure.message, failure.stack) });
    return {
      result: resultOf(r.node, 'failed', { key: r.key, changed, error: failure.message, ...(logPath ? { logPath } : {}), ...(executorRecord ? { executor: executorRecord } : {}) }),
    };
  };

  /** Steps 3–4: hand the node to the executor until it ran, failed, or turned out cached. */
  const runNode = async (r: Resolved, recovered = 0, quiet = false): Promise<Done> => {
    const prev = previousMeta(r.node);
    const changed = explain(r.node, r.record, prev);
    let announcedWait = false;
    let started = quiet;
    /** An input entry is damaged or gone: recompute it and go round again, or say why not. */
    const recover = async (key: string, otherwise: JobFailure): Promise<Done | undefined> => {
      if (recovered >= MAX_RECOVERIES) return failedDone(r, otherwise, changed);
      recovered++;
      try {
        await recoverUpstream(r, key);
        return undefined;
      } catch (e) {
        return failedDone(r, { message: (e as Error).message }, changed);
      }
    };
    for (;;) {
      if (stopped) return { result: resultOf(r.node, 'skipped', { key: r.key, error: `not started: the cache's filesystem failed (${stopped.split(':')[0]})` }) };
      const found = inputRefs(r);
      if ('missing' in found) {
        const failed = await recover(found.missing, { message: `the cache entry of an input (${found.missing.slice(0, 12)}) disappeared during the run` });
        if (failed) return failed;
        continue;
      }
      const job: NodeJob = {
        nodeId: r.node.id,
        stage: r.node.stage,
        kind: r.node.kind,
        key: r.key,
        record: r.record,
        bundle: r.stage.bundle,
        ...(r.stage.bundle ? { bundleSha256: bundleDigest(r.stage.bundle) } : {}),
        ...(r.command ? { command: commandJob(r.node, r.command, cache.dir, r.key), staticKey: r.staticKey } : {}),
        params: r.node.params,
        inputs: found.refs,
        root: opts.projectRoot,
        force: opts.force,
        verifyInputs: opts.verifyInputs !== false,
        ...(prev ? { estimateSeconds: prev.seconds } : {}),
        ...(r.stage.def.light ? { light: true } : {}),
        facts: r.stage.facts,
        ...(r.node.resources ? { resources: r.node.resources } : {}),
      };
      const outcome = await gate.run(demandOf(r.node), (grant) => {
        // A node that waited for a slot while the filesystem failed does not start.
        if (stopped) return undefined;
        if (!started) opts.events?.nodeStart?.(r.node);
        started = true;
        return executor!.execute(grant.devices.length ? { ...job, gpuDevices: grant.devices } : job, (f, note) => opts.events?.nodeProgress?.(r.node, f, note));
      });
      if (!outcome) continue;
      switch (outcome.status) {
        case 'ran':
          // The entry's key: the planned one, or the one made with the deps the program reported.
          return { result: resultOf(r.node, 'ran', { key: outcome.meta.key, changed, seconds: outcome.meta.seconds, ...(outcome.meta.executor ? { executor: outcome.meta.executor } : {}) }), digest: outcome.meta.digest, meta: outcome.meta };
        case 'cached':
          return cachedDone(r.node, outcome.meta);
        case 'locked':
          if (!announcedWait) opts.events?.nodeWaiting?.(r.node, outcome.holder);
          announcedWait = true;
          await waitForLock(r.key);
          continue;
        case 'failed': {
          const corrupt = outcome.failure.corrupt;
          if (!corrupt) return failedDone(r, outcome.failure, changed, outcome.executor);
          const failed = await recover(corrupt.key, outcome.failure);
          if (failed) return failed;
          continue;
        }
      }
    }
  };

  /** Outside any job slot: until the entry appears or the lock is free or stale. */
  const waitForLock = async (key: string): Promise<void> => {
    for (;;) {
      await new Promise((res) => setTimeout(res, LOCK_RECHECK_MS));
      if (cache.hasEntry(key) || cache.lockState(key).state !== 'live') return;
    }
  };

  const visit = async (node: PlanNode): Promise<Done> => {
    const ups = new Map<string, Done>();
    for (const inp of Object.values(node.inputs)) for (const id of inp.ids) ups.set(id, await done.get(id)!);
    const blocked = [...ups.values()].find((u) => u.result.status !== 'ran' && u.result.status !== 'cached');
    if (blocked) {
      if (blocked.result.status === 'would-run') return { result: resultOf(node, 'would-run', { changed: [`upstream ${blocked.result.id} will run`] }) };
      return { result: resultOf(node, 'skipped', { error: `upstream ${blocked.result.id} ${blocked.result.status}` }) };
    }
    let r: Resolved;
    try {
      r = resolveKey(node, opts.stages.get(node.kind)!, ups);
    } catch (e) {
      return { result: resultOf(node, 'failed', { error: (e as Error).message }) };
    }
    const hit = await probeCache(node, r.key);
    if (hit) return hit;
    if (!executor) return { result: resultOf(node, 'would-run', { key: r.key, changed: explain(node, r.record) }) };
    return runNode(r);
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
