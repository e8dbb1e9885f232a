/**
 * Resolves a stage kind to its module, loads its definition, and fingerprints its code.
 * A project's own stages/<kind>.ts wins over the built-in one of the same name.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMMAND_KIND, commandStage } from '../command/stage.ts';
import { ensureBundle } from './compile.mjs';
import { PipelineError } from '../errors.ts';
import { readStageFacts } from './key-facts.ts';
import type { StageDefinition } from '../stage-api.ts';

export interface LoadedStage {
  kind: string;
  def: StageDefinition;
  /** The bundled module a worker imports. */
  bundle: string;
  /** The code part of node keys: the sources' fingerprint, or the pinned version. */
  code: string;
  sources: Record<string, string>;
  /** Versions of the packages the stage imports, plus its key facts. */
  env: Record<string, string>;
  /** The key facts alone (registered by its modules, and its env()): a job's worker checks them. */
  facts: Record<string, string>;
  /** Who gave the facts: registering modules' names, "env()". */
  factSources: string[];
}

export interface StageResolver {
  load(kind: string): Promise<LoadedStage>;
  /** The stage already loaded from this bundle file, if any. */
  loadedFromBundle(bundle: string): LoadedStage | undefined;
  /** Stage kinds available to this project (built-in and own). */
  kinds(): string[];
}

export interface Roots {
  /** The project: configs/, optional stages/. */
  projectRoot: string;
  /** This package: built-in stages/ and node_modules/. */
  packageRoot: string;
  buildDir: string;
}

const versionCache = new Map<string, string>();
function packageVersion(packageRoot: string, name: string): string {
  let v = versionCache.get(name);
  if (v === undefined) {
    try {
      v = String(JSON.parse(readFileSync(join(packageRoot, 'node_modules', name, 'package.json'), 'utf8')).version);
    } catch {
      v = 'unknown';
    }
    versionCache.set(name, v);
  }
  return v;
}

export function createStageResolver(roots: Roots): StageResolver {
  const loaded = new Map<string, Promise<LoadedStage>>();
  const byBundle = new Map<string, LoadedStage>();
  const locate = (kind: string): { file: string; root: string } | undefined => {
    for (const root of [roots.projectRoot, roots.packageRoot]) {
      const file = join(root, 'stages', `${kind}.ts`);
      if (existsSync(file)) return { file, root };
    }
    return undefined;
  };
  const kinds = (): string[] => {
    const out = new Set<string>();
    for (const root of [roots.projectRoot, roots.packageRoot]) {
      const dir = join(root, 'stages');
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) if (f.endsWith('.ts')) out.add(f.slice(0, -3));
    }
    out.add(COMMAND_KIND);
    return [...out].sort();
  };
  const load = async (kind: string): Promise<LoadedStage> => {
    if (kind === COMMAND_KIND) return commandStage;
    if (!/^[\w-]+$/.test(kind)) throw new PipelineError(`"${kind}" is not a stage name`);
    const where = locate(kind);
    if (!where) throw new PipelineError(`unknown stage "${kind}"; available: ${kinds().join(', ')}`);
    const bundle = await ensureBundle(where.file, { buildDir: join(roots.buildDir, 'stages'), root: where.root });
    const mod = (await import(pathToFileURL(bundle.file).href)) as { default?: StageDefinition };
    const def = mod.default;
    if (!def || typeof def.run !== 'function' || typeof def.params !== 'object') {
      throw new PipelineError(`stages/${kind}.ts must \`export default defineStage({ description, params, run })\``);
    }
    const env: Record<string, string> = {};
    for (const p of bundle.packages) env[p] = packageVersion(roots.packageRoot, p);
    let facts;
    try {
      facts = readStageFacts(def);
    } catch (e) {
      throw new PipelineError(`${(e as Error).message} (reading the key facts of stage ${kind})`);
    }
    Object.assign(env, facts.facts);
    // A module of the bundle registers key facts the stage did not capture: its keys would miss them.
    for (const [file, names] of Object.entries(bundle.keyFactRegistrations)) {
      const missing = names.filter((n) => !facts.from.includes(n));
      if (missing.length) {
        throw new PipelineError(
          `stages/${kind}.ts: ${file} registers key facts ("${missing.join('", "')}") that its node keys would miss: export the stage with defineStage({ ... }) from engine/stage-api.ts, and import ${file} at top level, not inside run`,
        );
      }
    }
    const code = def.version !== undefined ? `version:${def.version}` : bundle.fingerprint;
    const stage: LoadedStage = { kind, def, bundle: bundle.file, code, sources: def.version !== undefined ? {} : bundle.sources, env, facts: facts.facts, factSources: facts.from };
    byBundle.set(stage.bundle, stage);
    return stage;
  };
  return {
    load(kind) {
      let p = loaded.get(kind);
      if (!p) {
        p = load(kind);
        loaded.set(kind, p);
      }
      return p;
    },
    loadedFromBundle: (bundle) => byBundle.get(bundle),
    kinds,
  };
}


