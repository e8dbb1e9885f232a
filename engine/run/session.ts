/** Loads a target with everything a command needs: spec, stage modules, nodes, cache. */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Cache } from '../store/cache.ts';
import { checkCommandStage } from '../command/identity.ts';
import { loadTarget, resolveTargetFile, type TargetSpec } from '../config/config.ts';
import { PipelineError } from '../errors.ts';
import { resolveMaxNodes } from '../config/limits.ts';
import { expand, stageKinds, type Expansion } from '../config/expand.ts';
import { createStageResolver, type LoadedStage, type Roots, type StageResolver } from '../keys/stages.ts';

export interface SessionOptions {
  packageRoot: string;
  buildDir: string;
  cwd?: string;
  cacheDir?: string;
  /** Node budget (--max-nodes); default $PIPELINE_MAX_NODES, else limits.DEFAULT_MAX_NODES. */
  maxNodes?: number;
}

export interface Session {
  roots: Roots;
  cache: Cache;
  resolver: StageResolver;
  reportsDir: string;
  defaultJobs: number;
  /** Most nodes a command may expand; checked before they are built. */
  maxNodes: number;
}

/** The project is the nearest folder (from cwd up) with a configs/ folder, else this package. */
export function findProjectRoot(cwd: string, packageRoot: string): string {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, 'configs'))) return dir;
    const up = dirname(dir);
    if (up === dir) return packageRoot;
    dir = up;
  }
}

export function openSession(opts: SessionOptions): Session {
  const projectRoot = findProjectRoot(opts.cwd ?? process.cwd(), opts.packageRoot);
  const cacheDir = resolve(opts.cacheDir ?? process.env.PIPELINE_CACHE_DIR ?? join(projectRoot, 'cache'));
  const roots: Roots = { projectRoot, packageRoot: opts.packageRoot, buildDir: opts.buildDir };
  return {
    roots,
    cache: new Cache(cacheDir),
    resolver: createStageResolver(roots),
    reportsDir: join(projectRoot, 'reports'),
    defaultJobs: availableParallelism(),
    maxNodes: resolveMaxNodes(opts.maxNodes),
  };
}

export interface Prepared {
  target: TargetSpec;
  exp: Expansion;
  stages: Map<string, LoadedStage>;
}

export async function prepareTarget(s: Session, name: string, profile?: string, set?: string[]): Promise<Prepared> {
  const file = resolveTargetFile(s.roots.projectRoot, name);
  const target = loadTarget(file, { root: s.roots.projectRoot, profile, set, maxNodes: s.maxNodes });
  const stages = new Map<string, LoadedStage>();
  for (const kind of stageKinds(target)) {
    try {
      stages.set(kind, await s.resolver.load(kind));
    } catch (e) {
      if (!(e instanceof PipelineError)) throw e;
      // Point at the first stage that uses the unknown kind.
      const where = findKindUse(target, kind);
      throw new PipelineError(e.message, where ?? { file: target.file });
    }
  }
  checkCommands(target, s.roots.projectRoot);
  const defs = new Map([...stages].map(([k, v]) => [k, v.def]));
  return { target, exp: expand(target, defs, s.roots.projectRoot, s.maxNodes), stages };
}

/** Command stages whose program is missing or whose deps match nothing: exit 2 before anything runs. */
function checkCommands(t: TargetSpec, root: string, seen = new Set<TargetSpec>()): void {
  if (seen.has(t)) return;
  seen.add(t);
  for (const st of Object.values(t.stages)) if (st.command) checkCommandStage(st.command, root, (k) => t.locate(['stages', st.name, k]));
  for (const c of t.include) checkCommands(c, root, seen);
}

function findKindUse(t: TargetSpec, kind: string, seen = new Set<TargetSpec>()): ReturnType<TargetSpec['locate']> | undefined {
  if (seen.has(t)) return undefined;
  seen.add(t);
  for (const s of Object.values(t.stages)) if (s.kind === kind) return t.locate(['stages', s.name, 'stage']);
  for (const c of t.include) {
    const w = findKindUse(c, kind, seen);
    if (w) return w;
  }
  return undefined;
}

/**
 * Node id -> key from the target's last run, then from other targets' runs (same id without
 * prefix). Lazy: reading every target's run history costs tens of ms, and only nodes that run
 * need it.
 */
export function previousKeys(cache: Cache, target: string): () => Map<string, string> {
  let map: Map<string, string> | undefined;
  return () => (map ??= readPreviousKeys(cache, target));
}

function readPreviousKeys(cache: Cache, target: string): Map<string, string> {
  const map = new Map<string, string>();
  const strip = (id: string) => id.replace(/^[\w-]+\//, '');
  const all = cache.allRefs();
  for (const [t, runs] of Object.entries(all)) {
    if (t === target) continue;
    for (const run of [...runs].reverse()) for (const [id, key] of Object.entries(run.nodes)) map.set(strip(id), key);
  }
  for (const run of [...(all[target] ?? [])].reverse()) {
    for (const [id, key] of Object.entries(run.nodes)) {
      map.set(id, key);
      map.set(strip(id), key);
    }
  }
  return map;
}
