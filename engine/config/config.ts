/**
 * Target YAML -> validated TargetSpec. Layers, in order: `extends` parents, the chosen profile,
 * then `--set` overrides. Every error names file, line and key.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { COMMAND_KEYS, parseCommandSpec, type CommandSpec } from '../command/spec.ts';
import { checkDocument, isForbiddenKey } from './doc-guard.ts';
import { describeValue, PipelineError, type Location } from '../errors.ts';
import { DEFAULT_MAX_NODES, formatBytes, MAX_CONFIG_BYTES } from './limits.ts';
import { deepMerge, getPath, isMapping, setPath, type Doc } from './merge.ts';
import { targetNameProblem } from './names.ts';
import { isInsideAny } from './project-paths.ts';
import { parseResources, type Resources } from './resources.ts';
import { locateKey } from './yaml-locate.ts';

export interface InputEdge {
  from: string[];
  gather: boolean;
}

export interface StageSpec {
  name: string;
  kind: string;
  params: Doc;
  inputs: Record<string, InputEdge>;
  over: string[];
  /** Scheduling needs (threads, mem, time, gpus): in no key (engine/config/resources.ts). */
  resources?: Resources;
  /** A `stage: command` stage's program, outputs, deps, env, ... (engine/command/spec.ts). */
  command?: CommandSpec;
}

export interface TargetSpec {
  name: string;
  file: string;
  title: string;
  description: string;
  aliases: string[];
  profile: string;
  vars: Doc;
  sweep: Record<string, unknown[]>;
  stages: Record<string, StageSpec>;
  publish?: string;
  include: TargetSpec[];
  /** Where nodes run (`executor:`): local or slurm; the command line and environment override it. */
  executor?: string;
  /** Options of the slurm executor (`slurm:`), checked by executors/slurm-options.ts. */
  slurm?: Record<string, unknown>;
  /** The remote cache (`remote: { url }`), checked by store/remote-config.ts; flag and environment override it. */
  remote?: Record<string, unknown>;
  overrides: string[];
  /** The --set overrides that found their key in this target or a target it includes. */
  matched: string[];
  /** Profiles defined by this target or a target it includes. */
  profiles: string[];
  /** Absolute paths given as --set values: the only data files allowed outside the project. */
  commandLinePaths: string[];
  locate(path: readonly (string | number)[]): Location;
}

const TOP_KEYS = ['title', 'description', 'aliases', 'extends', 'vars', 'sweep', 'profiles', 'stages', 'publish', 'include', 'executor', 'slurm', 'remote'];
const STAGE_KEYS = ['stage', 'params', 'inputs', 'over', 'resources', 'description'];
export const DEFAULT_PROFILE = 'full';

interface Source {
  file: string;
  text: string;
}

export interface LoadOptions {
  /** Project root: configs/ lives here; file names in errors are relative to it. */
  root: string;
  profile?: string;
  set?: string[];
  /** Node budget: a sweep axis (or `repeat`) longer than this is refused before it is built. */
  maxNodes?: number;
  /**
   * Folders config files may come from (`extends`, `include`): the project and the folder of the
   * target file named on the command line. Set by the top-level loadTarget.
   */
  confine?: string[];
  /**
   * Targets already loaded by this command, by file: a target included from many places is
   * loaded once (ten targets each including the one below ten times were 10^9 loads).
   */
  loaded?: Map<string, TargetSpec>;
}

function rel(root: string, file: string): string {
  const r = relative(root, file);
  return r.startsWith('..') ? file : r;
}

function parseYaml(root: string, file: string): { doc: Doc; source: Source } {
  const shown = rel(root, file);
  if (!existsSync(file)) throw new PipelineError(`config file not found`, { file: shown });
  const stat = statSync(file);
  if (!stat.isFile()) throw new PipelineError('a config must be a regular file', { file: shown });
  if (stat.size > MAX_CONFIG_BYTES) throw new PipelineError(`the file is ${formatBytes(stat.size)}; a config may be at most ${formatBytes(MAX_CONFIG_BYTES)} (long value lists belong in a data file)`, { file: shown, line: 1 });
  const text = readFileSync(file, 'utf8');
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: shown });
  } catch (e) {
    const err = e as { mark?: { line: number }; reason?: string; message: string };
    throw new PipelineError(`malformed YAML: ${err.reason ?? err.message}`, { file: shown, line: err.mark ? err.mark.line + 1 : undefined });
  }
  if (doc === undefined || doc === null) doc = {};
  if (!isMapping(doc)) throw new PipelineError('a target config must be a mapping of keys (title, sweep, stages, ...)', { file: shown, line: 1 });
  // Before anything walks it: merging, substitution and hashing would expand an alias bomb.
  const problem = checkDocument(doc);
  if (problem) throw new PipelineError(problem.message, { file: shown, line: locateKey(text, problem.path) ?? 1, key: problem.path.join('.') });
  return { doc, source: { file: shown, text } };
}

/** Loads `file` with its `extends` chain; returns the merged document and every source, child first. */
function loadLayered(root: string, file: string, confine: string[], seen: string[] = []): { doc: Doc; sources: Source[] } {
  const abs = resolve(file);
  if (seen.includes(abs)) throw new PipelineError(`extends forms a cycle: ${[...seen, abs].map((f) => rel(root, f)).join(' -> ')}`, { file: rel(root, abs) });
  const { doc, source } = parseYaml(root, abs);
  const parent = doc.extends;
  if (parent === undefined) return { doc, sources: [source] };
  if (typeof parent !== 'string') throw new PipelineError(`expected a file name, got ${describeValue(parent)}`, { file: source.file, line: locateKey(source.text, ['extends']), key: 'extends' });
  const parentFile = resolve(dirname(abs), parent.endsWith('.yml') || parent.endsWith('.yaml') ? parent : `${parent}.yml`);
  if (!isInsideAny(confine, parentFile)) {
    throw new PipelineError('extends must name a config inside the project (or beside the target file named on the command line), got a file outside it', { file: source.file, line: locateKey(source.text, ['extends']), key: 'extends' });
  }
  const base = loadLayered(root, parentFile, confine, [...seen, abs]);
  const own = { ...doc };
  delete own.extends;
  return { doc: deepMerge(base.doc, own), sources: [source, ...base.sources] };
}

function makeLocator(sources: Source[]): (path: readonly (string | number)[]) => Location {
  return (path) => {
    const key = path.join('.');
    // Report the first layer (child first) that mentions the deepest part of the path.
    let best: Location | undefined;
    let bestDepth = -1;
    for (const s of sources) {
      for (let depth = path.length; depth > bestDepth; depth--) {
        const line = locateKey(s.text, path.slice(0, depth));
        if (line !== undefined && depth > bestDepth) {
          best = { file: s.file, line, key };
          bestDepth = depth;
          break;
        }
      }
    }
    return best ?? { file: sources[0].file, key };
  };
}

/** configs/<name>.yml, a path to a YAML file, or a name listed in some config's `aliases`. */
export function resolveTargetFile(root: string, name: string): string {
  if (name.endsWith('.yml') || name.endsWith('.yaml')) {
    if (name.includes('\0')) throw new PipelineError('a config path may not contain a NUL character');
    const p = resolve(name);
    if (!existsSync(p)) throw new PipelineError(`config file not found: ${name}`);
    return p;
  }
  const bad = targetNameProblem(name);
  if (bad) throw new PipelineError(bad, { key: '<target>' });
  const direct = join(root, 'configs', `${name}.yml`);
  if (existsSync(direct)) return direct;
  for (const t of listTargets(root)) if (t.aliases.includes(name)) return t.file;
  const known = listTargets(root).map((t) => t.name).join(', ');
  throw new PipelineError(`unknown target "${name}"; known targets: ${known || '(none: configs/ is empty)'}`);
}

export interface TargetListing {
  name: string;
  file: string;
  title: string;
  aliases: string[];
  /** Targets it builds too (`include:`). */
  include: string[];
}

/** Targets are configs/*.yml not starting with "_" (those are shared bases for `extends`). */
export function listTargets(root: string): TargetListing[] {
  const dir = join(root, 'configs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml') && !f.startsWith('_'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => {
      const file = join(dir, f);
      let doc: Doc = {};
      try {
        // A config too big or an alias bomb lists without title; running it reports why.
        if (statSync(file).size <= MAX_CONFIG_BYTES) {
          const loaded = (yaml.load(readFileSync(file, 'utf8')) as Doc) ?? {};
          if (isMapping(loaded) && !checkDocument(loaded)) doc = loaded;
        }
      } catch {
        // A broken config still lists; running it reports the error with its line.
      }
      const aliases = Array.isArray(doc.aliases) ? doc.aliases.map(String) : [];
      const include = Array.isArray(doc.include) ? doc.include.map(String) : [];
      return { name: basename(f, '.yml'), file, title: typeof doc.title === 'string' ? doc.title : '', aliases, include };
    });
}

function parseOverride(expr: string): { path: string[]; value: unknown } {
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new PipelineError(`expects key=value, got ${describeValue(expr)}`, { key: '--set' });
  const key = expr.slice(0, eq).trim();
  const raw = expr.slice(eq + 1);
  const path = key.split('.');
  const shownKey = JSON.stringify(key.slice(0, 60));
  if (path.some((p) => p === '')) throw new PipelineError(`${shownKey}: empty part in the dotted key`, { key: '--set' });
  const forbidden = path.find(isForbiddenKey);
  if (forbidden) throw new PipelineError(`${shownKey}: "${forbidden}" is not allowed as a key (it would reach the object prototype)`, { key: '--set' });
  let value: unknown;
  try {
    value = yaml.load(raw);
  } catch {
    value = raw;
  }
  const problem = checkDocument(value);
  if (problem) throw new PipelineError(`${shownKey}: ${problem.message}`, { key: '--set' });
  return { path, value: value === undefined ? '' : value };
}

function absolutePathsIn(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string' && isAbsolute(v)) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => absolutePathsIn(x, out));
  else if (isMapping(v)) Object.values(v).forEach((x) => absolutePathsIn(x, out));
  return out;
}

/** `--set activation=relu` finds `sweep.activation` or `vars.activation`; dotted keys are paths. */
function applyOverride(doc: Doc, expr: string, file: string): boolean {
  const { path, value } = parseOverride(expr);
  if (path.length === 1 && !TOP_KEYS.includes(path[0])) {
    for (const section of ['sweep', 'vars']) {
      if (isMapping(doc[section]) && Object.hasOwn(doc[section] as Doc, path[0])) {
        (doc[section] as Doc)[path[0]] = value;
        return true;
      }
    }
    return false;
  }
  if (!TOP_KEYS.includes(path[0])) throw new PipelineError(`--set ${expr}: unknown key "${path[0]}"`, { file });
  setPath(doc, path, value);
  return true;
}

function normaliseSweep(raw: unknown, locate: TargetSpec['locate'], maxNodes: number): Record<string, unknown[]> {
  if (raw === undefined) return {};
  if (!isMapping(raw)) throw new PipelineError(`expected a mapping of axis: [values], got ${describeValue(raw)}`, locate(['sweep']));
  const out: Record<string, unknown[]> = {};
  for (const [axis, v] of Object.entries(raw)) {
    if (axis === 'repeat') {
      if (!Number.isInteger(v) || (v as number) < 1) throw new PipelineError(`expected a whole number of repeats >= 1, got ${describeValue(v)}`, locate(['sweep', 'repeat']));
      // Checked before the axis is built: `repeat: 1e9` used to abort out of memory.
      if ((v as number) > maxNodes) throw new PipelineError(`${v} repeats exceed the node budget of ${maxNodes.toLocaleString('en')} nodes (raise it with --max-nodes or PIPELINE_MAX_NODES)`, locate(['sweep', 'repeat']));
      out.repeat = Array.from({ length: v as number }, (_, i) => i);
    } else if (Array.isArray(v)) {
      if (v.length === 0) throw new PipelineError('expected at least one value', locate(['sweep', axis]));
      if (v.length > maxNodes) throw new PipelineError(`${v.length} values exceed the node budget of ${maxNodes.toLocaleString('en')} nodes (raise it with --max-nodes or PIPELINE_MAX_NODES)`, locate(['sweep', axis]));
      out[axis] = v;
    } else {
      out[axis] = [v];
    }
  }
  return out;
}

function parseEdge(v: unknown, where: () => Location): InputEdge {
  if (typeof v === 'string') return { from: [v], gather: false };
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return { from: v as string[], gather: true };
  if (isMapping(v)) {
    const from = typeof v.from === 'string' ? [v.from] : v.from;
    const extra = Object.keys(v).filter((k) => k !== 'from' && k !== 'gather');
    if (extra.length) throw new PipelineError(`unknown key "${extra[0]}" in input (expected from, gather)`, where());
    if (!Array.isArray(from) || !from.every((s) => typeof s === 'string')) throw new PipelineError('expected `from: <stage>` or `from: [stages]`', where());
    if (v.gather !== undefined && typeof v.gather !== 'boolean') throw new PipelineError(`gather: expected true or false, got ${describeValue(v.gather)}`, where());
    return { from, gather: v.gather === true || from.length > 1 };
  }
  throw new PipelineError(`expected a stage name, a list of stage names, or {from, gather}, got ${describeValue(v)}`, where());
}

function parseStages(raw: unknown, locate: TargetSpec['locate']): Record<string, StageSpec> {
  if (!isMapping(raw)) throw new PipelineError(`expected a mapping of stage name: {stage, params, inputs}, got ${describeValue(raw)}`, locate(['stages']));
  const stages: Record<string, StageSpec> = {};
  for (const [name, s] of Object.entries(raw)) {
    const at = (...p: string[]) => locate(['stages', name, ...p]);
    if (!/^[A-Za-z_][\w-]*$/.test(name)) throw new PipelineError('stage names are letters, digits, _ and -', at());
    if (!isMapping(s)) throw new PipelineError(`expected a mapping with \`stage:\`, got ${describeValue(s)}`, at());
    if (typeof s.stage !== 'string') throw new PipelineError('missing `stage:` (the kind of stage, e.g. gaussian, kernel)', at());
    const isCommand = s.stage === 'command';
    for (const k of Object.keys(s)) {
      if (STAGE_KEYS.includes(k)) continue;
      if (COMMAND_KEYS.includes(k)) {
        if (!isCommand) throw new PipelineError(`\`${k}:\` belongs to a command stage (stage: command); stage ${s.stage} takes ${STAGE_KEYS.join(', ')}`, at(k));
        continue;
      }
      throw new PipelineError(`unknown key; a stage takes ${[...STAGE_KEYS, ...(isCommand ? COMMAND_KEYS : [])].join(', ')}`, at(k));
    }
    if (s.params !== undefined && !isMapping(s.params)) throw new PipelineError(`expected a mapping, got ${describeValue(s.params)}`, at('params'));
    if (s.inputs !== undefined && !isMapping(s.inputs)) throw new PipelineError(`expected a mapping of input name: stage, got ${describeValue(s.inputs)}`, at('inputs'));
    if (s.over !== undefined && !(Array.isArray(s.over) && s.over.every((a) => typeof a === 'string'))) throw new PipelineError('expected a list of sweep axes', at('over'));
    const inputs: Record<string, InputEdge> = {};
    for (const [port, edge] of Object.entries((s.inputs as Doc | undefined) ?? {})) inputs[port] = parseEdge(edge, () => at('inputs', port));
    const resources = s.resources === undefined || s.resources === null ? undefined : parseResources(s.resources, (k) => (k ? at('resources', k) : at('resources')));
    stages[name] = { name, kind: s.stage, params: (s.params as Doc | undefined) ?? {}, inputs, over: (s.over as string[] | undefined) ?? [], ...(resources && Object.keys(resources).length ? { resources } : {}) };
    if (isCommand) {
      const command = parseCommandSpec(s, (k) => (k ? at(k) : at()));
      stages[name].command = command;
      // A command's `threads:` is also what it takes of --jobs' slots (unless resources say otherwise).
      if (command.threads && !stages[name].resources?.threads) stages[name].resources = { ...stages[name].resources, threads: command.threads };
    }
  }
  return stages;
}

export function loadTarget(file: string, opts: LoadOptions, includedFrom: string[] = []): TargetSpec {
  const confine = opts.confine ?? [opts.root, dirname(resolve(file))];
  const loaded = opts.loaded ?? new Map<string, TargetSpec>();
  const { doc: layered, sources } = loadLayered(opts.root, file, confine);
  const locate = makeLocator(sources);
  const shown = sources[0].file;
  for (const k of Object.keys(layered)) {
    if (!TOP_KEYS.includes(k)) throw new PipelineError(`unknown key; a target takes ${TOP_KEYS.filter((t) => t !== 'extends').join(', ')}`, locate([k]));
  }
  const profile = opts.profile ?? DEFAULT_PROFILE;
  let doc = layered;
  const profiles = layered.profiles;
  if (profiles !== undefined && !isMapping(profiles)) throw new PipelineError('expected a mapping of profile name: overrides', locate(['profiles']));
  if (isMapping(profiles) && Object.hasOwn(profiles, profile) && isMapping(profiles[profile])) {
    const p = profiles[profile] as Doc;
    for (const k of Object.keys(p)) if (!['vars', 'sweep', 'stages'].includes(k)) throw new PipelineError('a profile may override vars, sweep and stages', locate(['profiles', profile, k]));
    doc = deepMerge(layered, p);
  }
  doc = structuredClone(doc);
  const overrides = opts.set ?? [];
  const unmatched = overrides.filter((o) => !applyOverride(doc, o, shown));
  const include = (Array.isArray(doc.include) ? doc.include : doc.include === undefined ? [] : [doc.include]).map((name, i) => {
    if (typeof name !== 'string') throw new PipelineError(`expected a target name, got ${describeValue(name)}`, locate(['include', i]));
    let childFile: string;
    try {
      childFile = resolveTargetFile(opts.root, name);
    } catch (e) {
      if (e instanceof PipelineError) throw new PipelineError(e.message, locate(['include', i]));
      throw e;
    }
    if (!isInsideAny(confine, childFile)) throw new PipelineError(`include must name a target inside the project, got a file outside it`, locate(['include', i]));
    if (includedFrom.includes(childFile)) throw new PipelineError(`include forms a cycle through ${name}`, locate(['include']));
    const known = loaded.get(childFile);
    if (known) return known;
    const child = loadTarget(childFile, { ...opts, set: overrides, confine, loaded }, [...includedFrom, resolve(file)]);
    loaded.set(childFile, child);
    return child;
  });
  // An override must land somewhere: in this target or one it includes.
  const matched = overrides.filter((o) => !unmatched.includes(o) || include.some((t) => t.matched.includes(o)));
  for (const o of includedFrom.length ? [] : overrides.filter((x) => !matched.includes(x))) {
    {
      const vars = [...Object.keys(isMapping(doc.sweep) ? doc.sweep : {}), ...Object.keys(isMapping(doc.vars) ? doc.vars : {})];
      throw new PipelineError(`--set ${o}: no variable "${o.split('=')[0]}" in this target (variables: ${vars.join(', ') || 'none'}; use a dotted path such as stages.<name>.params.<key>)`, { file: shown });
    }
  }
  const title = getPath(doc, ['title']);
  if (title !== undefined && typeof title !== 'string') throw new PipelineError(`expected text, got ${describeValue(title)}`, locate(['title']));
  if (doc.vars !== undefined && !isMapping(doc.vars)) throw new PipelineError(`expected a mapping of name: value, got ${describeValue(doc.vars)}`, locate(['vars']));
  if (doc.publish !== undefined && typeof doc.publish !== 'string') throw new PipelineError('expected the name of the stage whose outputs form the report', locate(['publish']));
  if (doc.executor !== undefined && doc.executor !== 'local' && doc.executor !== 'slurm') throw new PipelineError(`expected local or slurm, got ${describeValue(doc.executor)}`, locate(['executor']));
  if (doc.slurm !== undefined && !isMapping(doc.slurm)) throw new PipelineError(`expected a mapping of slurm options, got ${describeValue(doc.slurm)}`, locate(['slurm']));
  if (doc.remote !== undefined && !isMapping(doc.remote)) throw new PipelineError(`expected a mapping with the remote cache's url, got ${describeValue(doc.remote)}`, locate(['remote']));
  // A profile must exist somewhere: in this target or in one it includes (paper --profile quick).
  const ownProfiles = isMapping(profiles) ? Object.keys(profiles) : [];
  const allProfiles = [...new Set([...ownProfiles, ...include.flatMap((c) => c.profiles)])];
  if (!includedFrom.length && profile !== DEFAULT_PROFILE && !allProfiles.includes(profile)) {
    throw new PipelineError(`unknown profile "${profile}" (this target has: ${allProfiles.join(', ') || 'none'})`, { file: shown });
  }
  const name = basename(file).replace(/\.ya?ml$/, '');
  const badName = targetNameProblem(name);
  if (badName) throw new PipelineError(`${badName} (the name comes from the file name)`, { file: shown });
  const aliases = Array.isArray(doc.aliases) ? doc.aliases.map(String) : [];
  aliases.forEach((a, i) => {
    const bad = targetNameProblem(a);
    if (bad) throw new PipelineError(bad, locate(['aliases', i]));
  });
  const spec: TargetSpec = {
    name,
    file: shown,
    title: (title as string | undefined) ?? basename(file),
    description: typeof doc.description === 'string' ? doc.description : '',
    aliases,
    profile,
    vars: (doc.vars as Doc | undefined) ?? {},
    sweep: normaliseSweep(doc.sweep, locate, opts.maxNodes ?? DEFAULT_MAX_NODES),
    stages: doc.stages === undefined && include.length ? {} : parseStages(doc.stages, locate),
    publish: doc.publish as string | undefined,
    include,
    ...(doc.executor !== undefined ? { executor: doc.executor as string } : {}),
    ...(doc.slurm !== undefined ? { slurm: doc.slurm as Record<string, unknown> } : {}),
    ...(doc.remote !== undefined ? { remote: doc.remote as Record<string, unknown> } : {}),
    overrides,
    matched,
    profiles: allProfiles,
    commandLinePaths: absolutePathsIn(overrides.map((o) => parseOverride(o).value)),
    locate,
  };
  if (spec.publish && !spec.stages[spec.publish]) throw new PipelineError(`no stage named "${spec.publish}"`, locate(['publish']));
  return spec;
}
