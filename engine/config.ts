/**
 * Target YAML -> validated TargetSpec. Layers, in order: `extends` parents, the chosen profile,
 * then `--set` overrides. Every error names file, line and key.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { describeValue, PipelineError, type Location } from './errors.ts';
import { deepMerge, getPath, isMapping, setPath, type Doc } from './merge.ts';
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
  overrides: string[];
  /** The --set overrides that found their key in this target or a target it includes. */
  matched: string[];
  /** Profiles defined by this target or a target it includes. */
  profiles: string[];
  locate(path: readonly (string | number)[]): Location;
}

const TOP_KEYS = ['title', 'description', 'aliases', 'extends', 'vars', 'sweep', 'profiles', 'stages', 'publish', 'include', 'executor', 'slurm'];
const STAGE_KEYS = ['stage', 'params', 'inputs', 'over', 'description'];
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
}

function rel(root: string, file: string): string {
  const r = relative(root, file);
  return r.startsWith('..') ? file : r;
}

function parseYaml(root: string, file: string): { doc: Doc; source: Source } {
  const shown = rel(root, file);
  if (!existsSync(file)) throw new PipelineError(`config file not found`, { file: shown });
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
  return { doc, source: { file: shown, text } };
}

/** Loads `file` with its `extends` chain; returns the merged document and every source, child first. */
function loadLayered(root: string, file: string, seen: string[] = []): { doc: Doc; sources: Source[] } {
  const abs = resolve(file);
  if (seen.includes(abs)) throw new PipelineError(`extends forms a cycle: ${[...seen, abs].map((f) => rel(root, f)).join(' -> ')}`, { file: rel(root, abs) });
  const { doc, source } = parseYaml(root, abs);
  const parent = doc.extends;
  if (parent === undefined) return { doc, sources: [source] };
  if (typeof parent !== 'string') throw new PipelineError(`expected a file name, got ${describeValue(parent)}`, { file: source.file, line: locateKey(source.text, ['extends']), key: 'extends' });
  const base = loadLayered(root, join(dirname(abs), parent.endsWith('.yml') || parent.endsWith('.yaml') ? parent : `${parent}.yml`), [...seen, abs]);
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
    const p = resolve(name);
    if (!existsSync(p)) throw new PipelineError(`config file not found: ${name}`);
    return p;
  }
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
        doc = (yaml.load(readFileSync(file, 'utf8')) as Doc) ?? {};
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
  if (eq <= 0) throw new PipelineError(`--set expects key=value, got "${expr}"`);
  const key = expr.slice(0, eq).trim();
  const raw = expr.slice(eq + 1);
  let value: unknown;
  try {
    value = yaml.load(raw);
  } catch {
    value = raw;
  }
  return { path: key.split('.'), value: value === undefined ? '' : value };
}

/** `--set activation=relu` finds `sweep.activation` or `vars.activation`; dotted keys are paths. */
function applyOverride(doc: Doc, expr: string, file: string): boolean {
  const { path, value } = parseOverride(expr);
  if (path.length === 1 && !TOP_KEYS.includes(path[0])) {
    for (const section of ['sweep', 'vars']) {
      if (isMapping(doc[section]) && path[0] in (doc[section] as Doc)) {
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

function normaliseSweep(raw: unknown, locate: TargetSpec['locate']): Record<string, unknown[]> {
  if (raw === undefined) return {};
  if (!isMapping(raw)) throw new PipelineError(`expected a mapping of axis: [values], got ${describeValue(raw)}`, locate(['sweep']));
  const out: Record<string, unknown[]> = {};
  for (const [axis, v] of Object.entries(raw)) {
    if (axis === 'repeat') {
      if (!Number.isInteger(v) || (v as number) < 1) throw new PipelineError(`expected a whole number of repeats >= 1, got ${describeValue(v)}`, locate(['sweep', 'repeat']));
      out.repeat = Array.from({ length: v as number }, (_, i) => i);
    } else if (Array.isArray(v)) {
      if (v.length === 0) throw new PipelineError('expected at least one value', locate(['sweep', axis]));
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
    for (const k of Object.keys(s)) if (!STAGE_KEYS.includes(k)) throw new PipelineError(`unknown key; a stage takes ${STAGE_KEYS.join(', ')}`, at(k));
    if (typeof s.stage !== 'string') throw new PipelineError('missing `stage:` (the kind of stage, e.g. gaussian, kernel)', at());
    if (s.params !== undefined && !isMapping(s.params)) throw new PipelineError(`expected a mapping, got ${describeValue(s.params)}`, at('params'));
    if (s.inputs !== undefined && !isMapping(s.inputs)) throw new PipelineError(`expected a mapping of input name: stage, got ${describeValue(s.inputs)}`, at('inputs'));
    if (s.over !== undefined && !(Array.isArray(s.over) && s.over.every((a) => typeof a === 'string'))) throw new PipelineError('expected a list of sweep axes', at('over'));
    const inputs: Record<string, InputEdge> = {};
    for (const [port, edge] of Object.entries((s.inputs as Doc | undefined) ?? {})) inputs[port] = parseEdge(edge, () => at('inputs', port));
    stages[name] = { name, kind: s.stage, params: (s.params as Doc | undefined) ?? {}, inputs, over: (s.over as string[] | undefined) ?? [] };
  }
  return stages;
}

export function loadTarget(file: string, opts: LoadOptions, includedFrom: string[] = []): TargetSpec {
  const { doc: layered, sources } = loadLayered(opts.root, file);
  const locate = makeLocator(sources);
  const shown = sources[0].file;
  for (const k of Object.keys(layered)) {
    if (!TOP_KEYS.includes(k)) throw new PipelineError(`unknown key; a target takes ${TOP_KEYS.filter((t) => t !== 'extends').join(', ')}`, locate([k]));
  }
  const profile = opts.profile ?? DEFAULT_PROFILE;
  let doc = layered;
  const profiles = layered.profiles;
  if (profiles !== undefined && !isMapping(profiles)) throw new PipelineError('expected a mapping of profile name: overrides', locate(['profiles']));
  if (isMapping(profiles) && isMapping(profiles[profile])) {
    const p = profiles[profile] as Doc;
    for (const k of Object.keys(p)) if (!['vars', 'sweep', 'stages'].includes(k)) throw new PipelineError('a profile may override vars, sweep and stages', locate(['profiles', profile, k]));
    doc = deepMerge(layered, p);
  }
  doc = structuredClone(doc);
  const overrides = opts.set ?? [];
  const unmatched = overrides.filter((o) => !applyOverride(doc, o, shown));
  const include = (Array.isArray(doc.include) ? doc.include : doc.include === undefined ? [] : [doc.include]).map((name, i) => {
    if (typeof name !== 'string') throw new PipelineError(`expected a target name, got ${describeValue(name)}`, locate(['include', i]));
    const childFile = resolveTargetFile(opts.root, name);
    if (includedFrom.includes(childFile)) throw new PipelineError(`include forms a cycle through ${name}`, locate(['include']));
    return loadTarget(childFile, { ...opts, set: overrides }, [...includedFrom, resolve(file)]);
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
  // A profile must exist somewhere: in this target or in one it includes (paper --profile quick).
  const ownProfiles = isMapping(profiles) ? Object.keys(profiles) : [];
  const allProfiles = [...new Set([...ownProfiles, ...include.flatMap((c) => c.profiles)])];
  if (!includedFrom.length && profile !== DEFAULT_PROFILE && !allProfiles.includes(profile)) {
    throw new PipelineError(`unknown profile "${profile}" (this target has: ${allProfiles.join(', ') || 'none'})`, { file: shown });
  }
  const spec: TargetSpec = {
    name: basename(file).replace(/\.ya?ml$/, ''),
    file: shown,
    title: (title as string | undefined) ?? basename(file),
    description: typeof doc.description === 'string' ? doc.description : '',
    aliases: Array.isArray(doc.aliases) ? doc.aliases.map(String) : [],
    profile,
    vars: (doc.vars as Doc | undefined) ?? {},
    sweep: normaliseSweep(doc.sweep, locate),
    stages: doc.stages === undefined && include.length ? {} : parseStages(doc.stages, locate),
    publish: doc.publish as string | undefined,
    include,
    ...(doc.executor !== undefined ? { executor: doc.executor as string } : {}),
    ...(doc.slurm !== undefined ? { slurm: doc.slurm as Record<string, unknown> } : {}),
    overrides,
    matched,
    profiles: allProfiles,
    locate,
  };
  if (spec.publish && !spec.stages[spec.publish]) throw new PipelineError(`no stage named "${spec.publish}"`, locate(['publish']));
  return spec;
}
