/**
 * TargetSpec -> concrete nodes. A stage's axes are the sweep axes its params reference (through
 * vars too), those of its mapped inputs, and `over`; it gets one node per combination.
 * A mapped input picks the one upstream node with the same coordinates; a gathered input takes
 * every upstream node that agrees on the shared axes. Nodes come out in topological order.
 */
import type { InputEdge, StageSpec, TargetSpec } from './config.ts';
import { mergeResources } from './resources.ts';
import { commandRefs, refProblem, type CommandSpec } from '../command/spec.ts';
import { resolveFiles } from './data-files.ts';
import { describeValue, PipelineError } from '../errors.ts';
import { charge, newBudget, type Budget } from './expand-budget.ts';
import { canonicalJson, sha256 } from '../keys/hash.ts';
import { DEFAULT_MAX_NODES, MAX_CONFIG_VALUES, PARAM_VALUES_PER_NODE } from './limits.ts';
import { isMapping } from './merge.ts';
import { validateParams } from './params.ts';
import type { StageDefinition } from '../stage-api.ts';

export type Coords = Record<string, unknown>;

export interface PlanNode {
  id: string;
  /** Config stage name ("nngp") and stage kind ("kernel"). */
  stage: string;
  kind: string;
  target: string;
  coords: Coords;
  params: Record<string, unknown>;
  inputs: Record<string, { gather: boolean; ids: string[] }>;
  /** Structural identity: kind, params and upstream identities. Equal ids = the same computation. */
  sid: string;
  /**
   * Scheduling needs from the config's `resources:` (engine/config/resources.ts). Never in the key nor
   * in `sid`; a node shared by two stages needs the most either asks.
   */
  resources?: { threads?: number; mem?: string; time?: string; gpus?: number };
  /** A command stage's program and its declared outputs, deps, env (engine/command/spec.ts). */
  command?: CommandSpec;
}

export interface Expansion {
  nodes: PlanNode[];
  /** Publishing: target name -> node id of its report stage. */
  publish: Record<string, string>;
  targets: TargetSpec[];
  /** Ids of stage nodes that resolved to an existing node (same computation) -> that node's id. */
  shared: Record<string, string>;
}

/** Variables every target has: its name, the profile it is built with, its title and description. */
const BUILTINS = ['target', 'profile', 'title', 'description'];
const WHOLE_REF = /^\$\{(\w+)\}$/;
const ANY_REF = /\$\{(\w+)\}/g;

function refsOf(value: unknown, out: Set<string>): Set<string> {
  if (typeof value === 'string') for (const m of value.matchAll(ANY_REF)) out.add(m[1]);
  else if (Array.isArray(value)) value.forEach((v) => refsOf(v, out));
  else if (isMapping(value)) Object.values(value).forEach((v) => refsOf(v, out));
  return out;
}

/** Axes of each var, per target: a var reached along many paths is followed once. */
const varAxes = new WeakMap<TargetSpec, Map<string, Set<string>>>();

/** Sweep axes a value depends on, following references through vars. */
function axesOf(t: TargetSpec, value: unknown, path: string[], seen: string[] = []): Set<string> {
  let memo = varAxes.get(t);
  if (!memo) varAxes.set(t, (memo = new Map()));
  const axes = new Set<string>();
  for (const name of refsOf(value, new Set())) {
    // Own keys only: `${constructor}` must not find Object.prototype.constructor.
    if (Object.hasOwn(t.sweep, name)) axes.add(name);
    else if (BUILTINS.includes(name)) continue;
    else if (Object.hasOwn(t.vars, name)) {
      if (seen.includes(name)) throw new PipelineError(`vars refer to each other in a cycle: ${[...seen, name].join(' -> ')}`, t.locate(['vars', name]));
      // Without the memo, vars that each name ten vars of the level below cost 10^depth visits.
      let own = memo.get(name);
      if (!own) memo.set(name, (own = axesOf(t, t.vars[name], ['vars', name], [...seen, name])));
      for (const a of own) axes.add(a);
    } else {
      const known = [...Object.keys(t.sweep), ...Object.keys(t.vars)].join(', ');
      throw new PipelineError(`unknown variable \${${name}} (known: ${known || 'none'})`, t.locate(path));
    }
  }
  return axes;
}

/**
 * What one node's params may grow to by substitution. `${name}` copies a var's whole value, and
 * vars may name vars: ten references a level over nine levels is 10^9 values (or characters),
 * the same bomb as YAML aliases in another syntax. Counted as it is built, so it stops early.
 */
interface SubstitutionBudget {
  values: number;
}

class SubstitutionTooLarge extends Error {}

function spend(budget: SubstitutionBudget, n: number): void {
  budget.values -= n;
  if (budget.values < 0) throw new SubstitutionTooLarge();
}

/** Values in a (bounded) sweep coordinate value, for the budget. */
function sizeOf(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + sizeOf(x), 1);
  if (isMapping(v)) return Object.values(v).reduce((n: number, x) => n + sizeOf(x), 1);
  return 1;
}

function substitute(t: TargetSpec, value: unknown, coords: Coords, budget: SubstitutionBudget): unknown {
  spend(budget, 1);
  const lookup = (name: string): unknown => {
    if (Object.hasOwn(coords, name)) {
      spend(budget, sizeOf(coords[name]));
      return structuredClone(coords[name]);
    }
    if (Object.hasOwn(t.vars, name)) return substitute(t, t.vars[name], coords, budget);
    return { target: t.name, profile: t.profile, title: t.title, description: t.description }[name];
  };
  if (typeof value === 'string') {
    const whole = WHOLE_REF.exec(value);
    if (whole) return lookup(whole[1]);
    return value.replace(ANY_REF, (_, name: string) => {
      const v = lookup(name);
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      // 16 characters cost like one value (a 1 KB description costs 64): 1.6 MB of text a node at most.
      spend(budget, Math.ceil(text.length / 16));
      return text;
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(t, v, coords, budget));
  if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(t, v, coords, budget)]));
  return value;
}

/**
 * An including target's stages may read the stages of the targets it includes, named
 * `<included target>/<stage>` (e.g. `fig3/report`): all of that stage's nodes, with none of its
 * sweep axes (the included target's sweep is its own).
 */
interface IncludedStage {
  kind: string;
  nodes: NodeIndex;
  count: number;
}

function stageOrder(t: TargetSpec, included: Map<string, IncludedStage>): StageSpec[] {
  const order: StageSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]) => {
    const s = t.stages[name];
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      throw new PipelineError(`the stages form a cycle: ${cycle.join(' -> ')}`, t.locate(['stages', cycle[0], 'inputs']));
    }
    state.set(name, 'visiting');
    for (const [port, edge] of Object.entries(s.inputs)) {
      for (const up of edge.from) {
        if (included.has(up)) continue;
        if (!t.stages[up]) {
          const also = t.include.length ? `; a stage of an included target is named <target>/<stage>, e.g. ${t.include[0].name}/${Object.keys(t.include[0].stages)[0] ?? 'report'}` : '';
          throw new PipelineError(`no stage named "${up}" (stages: ${Object.keys(t.stages).join(', ')}${also})`, t.locate(['stages', name, 'inputs', port]));
        }
        visit(up, [...trail, name]);
      }
    }
    state.set(name, 'done');
    order.push(s);
  };
  for (const name of Object.keys(t.stages)) visit(name, []);
  return order;
}

function product(axes: string[], sweep: Record<string, unknown[]>): Coords[] {
  let out: Coords[] = [{}];
  for (const a of axes) out = out.flatMap((c) => sweep[a].map((v) => ({ ...c, [a]: v })));
  return out;
}

export function nodeId(stage: string, coords: Coords, prefix = ''): string {
  const parts = Object.entries(coords).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${prefix}${stage}${parts.length ? `[${parts.join(',')}]` : ''}`;
}

const coordKey = (c: Coords, axes: string[]) => canonicalJson(axes.map((a) => c[a]));

/** Upstream nodes grouped by their coordinates on some axes: one lookup per edge, not a scan. */
class NodeIndex {
  private byAxes = new Map<string, Map<string, PlanNode[]>>();

  constructor(private readonly nodes: PlanNode[]) {}

  matching(coords: Coords, axes: string[]): PlanNode[] {
    const sig = axes.join('\u0000');
    let index = this.byAxes.get(sig);
    if (!index) {
      index = new Map();
      for (const n of this.nodes) {
        const k = coordKey(n.coords, axes);
        const list = index.get(k);
        if (list) list.push(n);
        else index.set(k, [n]);
      }
      this.byAxes.set(sig, index);
    }
    return index.get(coordKey(coords, axes)) ?? [];
  }
}

/**
 * A node's params with references replaced, within the per-node budget (the size a config may
 * have) and the command's budget (what all its nodes may hold together).
 */
function substituteParams(t: TargetSpec, s: StageSpec, coords: Coords, budget: Budget, nodesOfStage: number): Record<string, unknown> {
  const perNode = Math.min(MAX_CONFIG_VALUES, budget.maxParamValues - budget.paramValues);
  const local: SubstitutionBudget = { values: perNode };
  const at = Object.keys(coords).length ? ` (at ${nodeId('', coords).slice(1, -1)})` : '';
  const together = () =>
    new PipelineError(
      `the params of this target's nodes together exceed ${budget.maxParamValues.toLocaleString('en')} values (${PARAM_VALUES_PER_NODE} per node of the node budget; raise it with --max-nodes)${at}`,
      t.locate(['stages', s.name, 'params']),
    );
  let given: Record<string, unknown>;
  try {
    given = substitute(t, s.params, coords, local) as Record<string, unknown>;
  } catch (e) {
    if (!(e instanceof SubstitutionTooLarge)) throw e;
    if (perNode < MAX_CONFIG_VALUES) throw together();
    throw new PipelineError(
      `these params expand to more than ${MAX_CONFIG_VALUES.toLocaleString('en')} values (or 16x as many characters) once \${...} references are replaced; vars that name vars multiply${at}`,
      t.locate(['stages', s.name, 'params']),
    );
  }
  const used = perNode - local.values;
  // The stage's nodes mostly hold params of one size: refuse at its first node, not its 10,000th.
  if (nodesOfStage > 0 && budget.paramValues + used * nodesOfStage > budget.maxParamValues) throw together();
  budget.paramValues += used;
  return given;
}

/** Where an upstream stage's declared outputs miss what an input of this stage reads. */
function checkOutputsFit(t: TargetSpec, s: StageSpec, def: StageDefinition, defs: Map<string, StageDefinition>, included: Map<string, IncludedStage>): void {
  for (const [port, edge] of Object.entries(s.inputs)) {
    const needs = def.inputs?.[port]?.needs;
    if (!needs?.length) continue;
    for (const up of edge.from) {
      const upKind = included.get(up)?.kind ?? t.stages[up].kind;
      const outputs = defs.get(upKind)?.outputs;
      if (!outputs) continue;
      const missing = needs.filter((n) => !outputs.includes(n));
      if (missing.length) {
        throw new PipelineError(
          `input "${port}" of stage "${s.name}" (${s.kind}) reads ${needs.join(', ')}, but stage "${up}" (${upKind}) writes ${outputs.join(', ') || 'nothing'}: missing ${missing.join(', ')}`,
          t.locate(['stages', s.name, 'inputs', port]),
        );
      }
    }
  }
}

function expandOne(
  t: TargetSpec,
  defs: Map<string, StageDefinition>,
  projectRoot: string,
  prefix: string,
  bySid: Map<string, PlanNode>,
  out: PlanNode[],
  budget: Budget,
  shared: Record<string, string>,
  included: Map<string, IncludedStage>,
): { publish?: string; stages: Map<string, IncludedStage> } {
  const stageAxes = new Map<string, string[]>();
  const stageNodes = new Map<string, NodeIndex>();
  const own = new Map<string, IncludedStage>();
  const sweepOrder = Object.keys(t.sweep);
  // Stages of included targets: no axes here, so every node of theirs matches every node of ours.
  for (const [name, inc] of included) {
    stageAxes.set(name, []);
    stageNodes.set(name, inc.nodes);
  }
  for (const s of stageOrder(t, included)) {
    const def = defs.get(s.kind)!;
    const axes = new Set<string>(s.over);
    for (const a of s.over) if (!(a in t.sweep)) throw new PipelineError(`"${a}" is not a sweep axis (axes: ${sweepOrder.join(', ') || 'none'})`, t.locate(['stages', s.name, 'over']));
    for (const [k, v] of Object.entries(s.params)) for (const a of axesOf(t, v, ['stages', s.name, 'params', k])) axes.add(a);
    if (s.command) checkCommandPorts(t, s);
    else {
      checkPorts(t, s, def);
      checkOutputsFit(t, s, def, defs, included);
    }
    for (const [port, edge] of Object.entries(s.inputs)) {
      for (const up of edge.from) {
        const n = included.get(up)?.count ?? 1;
        if (!edge.gather && n !== 1) throw new PipelineError(`input "${port}" takes one node, but ${up} has ${n}: gather it (${port}: {from: ${up}, gather: true}) or name a single-node stage such as its report`, t.locate(['stages', s.name, 'inputs', port]));
      }
    }
    for (const [, edge] of Object.entries(s.inputs)) if (!edge.gather) for (const up of edge.from) for (const a of stageAxes.get(up)!) axes.add(a);
    const ordered = sweepOrder.filter((a) => axes.has(a));
    stageAxes.set(s.name, ordered);
    charge(t, s, ordered, stageAxes, budget, (up) => included.get(up)?.count);
    const nodes: PlanNode[] = [];
    const allCoords = product(ordered, t.sweep);
    for (const coords of allCoords) {
      // The first node of a stage stands for all of them in the estimate (0: already checked).
      const given = substituteParams(t, s, coords, budget, coords === allCoords[0] ? allCoords.length : 0);
      const at = Object.keys(coords).length ? ` (at ${nodeId('', coords).slice(1, -1)})` : '';
      // A command stage's params are its own: any JSON values, checked against the command's references.
      const { params, issue: paramIssue } = s.command ? { params: given, issue: undefined } : validateParams(def, given);
      const issue = paramIssue ?? (s.command ? undefined : resolveFiles(t, s, def, params, projectRoot, at ? `, ${at.slice(2, -1)}` : ''));
      if (issue) {
        throw new PipelineError(`${issue.message}${at}`, { ...t.locate(['stages', s.name, 'params', issue.key]), key: `stages.${s.name}.params.${issue.key}` });
      }
      const inputs: PlanNode['inputs'] = {};
      const inputSids: Record<string, unknown> = {};
      for (const [port, edge] of Object.entries(s.inputs)) {
        const ups = edge.from.flatMap((up) => stageNodes.get(up)!.matching(coords, stageAxes.get(up)!.filter((a) => ordered.includes(a))));
        inputs[port] = { gather: edge.gather, ids: ups.map((n) => n.id) };
        inputSids[port] = edge.gather ? ups.map((n) => [n.stage, n.coords, n.sid]) : ups[0].sid;
      }
      if (s.command) {
        for (const ref of commandRefs(s.command)) {
          const why = refProblem(ref, params, Object.keys(s.inputs));
          if (why) throw new PipelineError(`${why}${at}`, t.locate(['stages', s.name, s.command.argv ? 'command' : 'shell']));
        }
      }
      // Two command stages with the same params and inputs are still two programs.
      const sid = sha256(canonicalJson({ kind: s.kind, params, inputs: inputSids, ...(s.command ? { command: s.command } : {}) }));
      const existing = bySid.get(sid);
      // Two targets (or two stages) that declare the same computation share one node.
      const node: PlanNode = existing ?? { id: nodeId(s.name, coords, prefix), stage: s.name, kind: s.kind, target: t.name, coords, params, inputs, sid, ...(s.resources ? { resources: { ...s.resources } } : {}), ...(s.command ? { command: s.command } : {}) };
      if (existing && s.resources) existing.resources = mergeResources(existing.resources, s.resources);
      if (!existing) {
        bySid.set(sid, node);
        out.push(node);
      } else {
        const own = nodeId(s.name, coords, prefix);
        if (own !== existing.id) shared[own] = existing.id;
      }
      nodes.push(node);
    }
    stageNodes.set(s.name, new NodeIndex(nodes));
    own.set(s.name, { kind: s.kind, nodes: stageNodes.get(s.name)!, count: nodes.length });
  }
  if (!t.publish) return { stages: own };
  const pub = stageNodes.get(t.publish)!.matching({}, []);
  if (pub.length !== 1) throw new PipelineError(`the published stage must be a single node, but it is swept over ${stageAxes.get(t.publish)!.join(', ')}`, t.locate(['publish']));
  return { publish: pub[0].id, stages: own };
}

/** A command stage takes any input names; `copy_inputs` must name some of them. */
function checkCommandPorts(t: TargetSpec, s: StageSpec): void {
  for (const port of Object.keys(s.inputs)) {
    if (!/^[A-Za-z_]\w*$/.test(port)) throw new PipelineError(`input name "${port}" must be letters, digits and _ (it names an environment variable PIPELINE_INPUT_${port.toUpperCase()})`, t.locate(['stages', s.name, 'inputs', port]));
  }
  for (const port of s.command!.copyInputs) {
    if (!s.inputs[port]) throw new PipelineError(`copy_inputs names "${port}", which is not an input of this stage (inputs: ${Object.keys(s.inputs).join(', ') || 'none'})`, t.locate(['stages', s.name, 'copy_inputs']));
  }
}

function checkPorts(t: TargetSpec, s: StageSpec, def: StageDefinition): void {
  const ports = def.inputs ?? {};
  for (const [port, edge] of Object.entries(s.inputs) as [string, InputEdge][]) {
    const spec = ports[port];
    const at = t.locate(['stages', s.name, 'inputs', port]);
    if (!spec) throw new PipelineError(`stage "${s.kind}" has no input "${port}" (inputs: ${Object.keys(ports).join(', ') || 'none'})`, at);
    if (spec.gather && !edge.gather) throw new PipelineError(`input "${port}" takes a list of nodes: write {from: ${edge.from[0]}, gather: true}`, at);
    if (!spec.gather && edge.gather) throw new PipelineError(`input "${port}" takes one node, got ${describeValue(edge.from)} gathered`, at);
  }
  for (const [port, spec] of Object.entries(ports)) {
    if (!spec.optional && !s.inputs[port]) throw new PipelineError(`missing input "${port}" (${spec.doc})`, t.locate(['stages', s.name]));
  }
}

/** Expands a target and everything it includes into one deduplicated node list. */
export function expand(target: TargetSpec, defs: Map<string, StageDefinition>, projectRoot: string, maxNodes = DEFAULT_MAX_NODES): Expansion {
  const nodes: PlanNode[] = [];
  const budget = newBudget(maxNodes);
  const bySid = new Map<string, PlanNode>();
  const publish: Record<string, string> = {};
  const targets: TargetSpec[] = [];
  // A target included from several places is expanded once.
  const walked = new Map<TargetSpec, Map<string, IncludedStage>>();
  const shared: Record<string, string> = {};
  const walk = (t: TargetSpec, prefix: string): Map<string, IncludedStage> => {
    const done = walked.get(t);
    if (done) return done;
    // What this target's stages may read of the targets it includes: <target>/<stage>.
    const included = new Map<string, IncludedStage>();
    for (const child of t.include) for (const [name, st] of walk(child, `${child.name}/`)) included.set(`${child.name}/${name}`, st);
    const r = expandOne(t, defs, projectRoot, prefix, bySid, nodes, budget, shared, included);
    walked.set(t, r.stages);
    if (r.publish) publish[t.name] = r.publish;
    targets.push(t);
    return r.stages;
  };
  walk(target, '');
  return { nodes, publish, targets, shared };
}

/** Every stage kind a target (and its includes) uses. */
export function stageKinds(t: TargetSpec, out = new Set<string>(), seen = new Set<TargetSpec>()): Set<string> {
  if (seen.has(t)) return out;
  seen.add(t);
  for (const s of Object.values(t.stages)) out.add(s.kind);
  for (const c of t.include) stageKinds(c, out, seen);
  return out;
}
