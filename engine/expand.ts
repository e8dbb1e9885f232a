/**
 * TargetSpec -> concrete nodes. A stage's axes are the sweep axes its params reference (through
 * vars too), those of its mapped inputs, and `over`; it gets one node per combination.
 * A mapped input picks the one upstream node with the same coordinates; a gathered input takes
 * every upstream node that agrees on the shared axes. Nodes come out in topological order.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import type { InputEdge, StageSpec, TargetSpec } from './config.ts';
import { describeValue, PipelineError } from './errors.ts';
import { canonicalJson, sha256 } from './hash.ts';
import { isMapping } from './merge.ts';
import { validateParams } from './params.ts';
import type { StageDefinition } from './stage-api.ts';

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

/** Sweep axes a value depends on, following references through vars. */
function axesOf(t: TargetSpec, value: unknown, path: string[], seen: string[] = []): Set<string> {
  const axes = new Set<string>();
  for (const name of refsOf(value, new Set())) {
    if (name in t.sweep) axes.add(name);
    else if (BUILTINS.includes(name)) continue;
    else if (name in t.vars) {
      if (seen.includes(name)) throw new PipelineError(`vars refer to each other in a cycle: ${[...seen, name].join(' -> ')}`, t.locate(['vars', name]));
      for (const a of axesOf(t, t.vars[name], ['vars', name], [...seen, name])) axes.add(a);
    } else {
      const known = [...Object.keys(t.sweep), ...Object.keys(t.vars)].join(', ');
      throw new PipelineError(`unknown variable \${${name}} (known: ${known || 'none'})`, t.locate(path));
    }
  }
  return axes;
}

function substitute(t: TargetSpec, value: unknown, coords: Coords): unknown {
  const lookup = (name: string): unknown => {
    if (name in coords) return coords[name];
    if (name in t.vars) return substitute(t, t.vars[name], coords);
    return { target: t.name, profile: t.profile, title: t.title, description: t.description }[name];
  };
  if (typeof value === 'string') {
    const whole = WHOLE_REF.exec(value);
    if (whole) return structuredClone(lookup(whole[1]));
    return value.replace(ANY_REF, (_, name: string) => {
      const v = lookup(name);
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(t, v, coords));
  if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(t, v, coords)]));
  return value;
}

function stageOrder(t: TargetSpec): StageSpec[] {
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
        if (!t.stages[up]) throw new PipelineError(`no stage named "${up}" (stages: ${Object.keys(t.stages).join(', ')})`, t.locate(['stages', name, 'inputs', port]));
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

/** Replaces each `file` param by {path, sha256}, so the file's content is part of the node key. */
function resolveFiles(def: StageDefinition, params: Record<string, unknown>, root: string): { key: string; message: string } | undefined {
  for (const [key, spec] of Object.entries(def.params)) {
    if (spec.type !== 'file' || typeof params[key] !== 'string') continue;
    const path = params[key] as string;
    const abs = resolve(root, path);
    if (!existsSync(abs) || !statSync(abs).isFile()) return { key, message: `data file not found: ${path} (paths are relative to ${root})` };
    params[key] = { path: relative(root, abs).split(sep).join('/'), sha256: sha256(readFileSync(abs)) };
  }
  return undefined;
}

function expandOne(t: TargetSpec, defs: Map<string, StageDefinition>, projectRoot: string, prefix: string, bySid: Map<string, PlanNode>, out: PlanNode[], shared: Record<string, string>): string | undefined {
  const stageAxes = new Map<string, string[]>();
  const stageNodes = new Map<string, NodeIndex>();
  const sweepOrder = Object.keys(t.sweep);
  for (const s of stageOrder(t)) {
    const def = defs.get(s.kind)!;
    const axes = new Set<string>(s.over);
    for (const a of s.over) if (!(a in t.sweep)) throw new PipelineError(`"${a}" is not a sweep axis (axes: ${sweepOrder.join(', ') || 'none'})`, t.locate(['stages', s.name, 'over']));
    for (const [k, v] of Object.entries(s.params)) for (const a of axesOf(t, v, ['stages', s.name, 'params', k])) axes.add(a);
    checkPorts(t, s, def);
    for (const [, edge] of Object.entries(s.inputs)) if (!edge.gather) for (const up of edge.from) for (const a of stageAxes.get(up)!) axes.add(a);
    const ordered = sweepOrder.filter((a) => axes.has(a));
    stageAxes.set(s.name, ordered);
    const nodes: PlanNode[] = [];
    for (const coords of product(ordered, t.sweep)) {
      const given = substitute(t, s.params, coords) as Record<string, unknown>;
      const { params, issue: paramIssue } = validateParams(def, given);
      const issue = paramIssue ?? resolveFiles(def, params, projectRoot);
      if (issue) {
        const at = Object.keys(coords).length ? ` (at ${nodeId('', coords).slice(1, -1)})` : '';
        throw new PipelineError(`${issue.message}${at}`, { ...t.locate(['stages', s.name, 'params', issue.key]), key: `stages.${s.name}.params.${issue.key}` });
      }
      const inputs: PlanNode['inputs'] = {};
      const inputSids: Record<string, unknown> = {};
      for (const [port, edge] of Object.entries(s.inputs)) {
        const ups = edge.from.flatMap((up) => stageNodes.get(up)!.matching(coords, stageAxes.get(up)!.filter((a) => ordered.includes(a))));
        inputs[port] = { gather: edge.gather, ids: ups.map((n) => n.id) };
        inputSids[port] = edge.gather ? ups.map((n) => [n.stage, n.coords, n.sid]) : ups[0].sid;
      }
      const sid = sha256(canonicalJson({ kind: s.kind, params, inputs: inputSids }));
      const existing = bySid.get(sid);
      // Two targets (or two stages) that declare the same computation share one node.
      const node = existing ?? { id: nodeId(s.name, coords, prefix), stage: s.name, kind: s.kind, target: t.name, coords, params, inputs, sid };
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
  }
  if (!t.publish) return undefined;
  const pub = stageNodes.get(t.publish)!.matching({}, []);
  if (pub.length !== 1) throw new PipelineError(`the published stage must be a single node, but it is swept over ${stageAxes.get(t.publish)!.join(', ')}`, t.locate(['publish']));
  return pub[0].id;
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
export function expand(target: TargetSpec, defs: Map<string, StageDefinition>, projectRoot: string): Expansion {
  const nodes: PlanNode[] = [];
  const bySid = new Map<string, PlanNode>();
  const publish: Record<string, string> = {};
  const targets: TargetSpec[] = [];
  const shared: Record<string, string> = {};
  const walk = (t: TargetSpec, prefix: string) => {
    for (const child of t.include) walk(child, `${child.name}/`);
    const pub = expandOne(t, defs, projectRoot, prefix, bySid, nodes, shared);
    if (pub) publish[t.name] = pub;
    targets.push(t);
  };
  walk(target, '');
  return { nodes, publish, targets, shared };
}

/** Every stage kind a target (and its includes) uses. */
export function stageKinds(t: TargetSpec, out = new Set<string>()): Set<string> {
  for (const s of Object.values(t.stages)) out.add(s.kind);
  for (const c of t.include) stageKinds(c, out);
  return out;
}
