/**
 * Node keys: a hash of named parts, kept beside the output so that `plan` and `--explain` can
 * say which part changed (params.activation: "erf" -> "relu"; code: stages/kernel.ts; ...).
 */
import { canonicalJson, paramsHash, sha256 } from './hash.ts';

export interface GatheredInput {
  stage: string;
  coords: Record<string, unknown>;
  digest: string;
}

export interface KeyParts {
  stage: { kind: string; code: string };
  params: string;
  inputs: Record<string, string | GatheredInput[]>;
  env: Record<string, string>;
  /**
   * Files the node's program depends on that are not known statically (the Python modules a
   * script actually imported): project-relative path -> fingerprint. Absent when empty, so that
   * keys of stages without discovered deps are what they always were (meta-design §1).
   */
  deps?: Record<string, string>;
}

/** What is stored beside an output so that later runs can explain a change. */
export interface KeyRecord {
  parts: KeyParts;
  params: Record<string, unknown>;
  sources: Record<string, string>;
}

export function makeKey(parts: KeyParts): string {
  return sha256(canonicalJson(parts));
}

/** The key without discovered deps: what the deps log is filed under. */
export function staticKeyOf(parts: KeyParts): string {
  const { deps: _deps, ...rest } = parts;
  return makeKey(rest);
}

export function keyParts(kind: string, code: string, params: Record<string, unknown>, inputs: KeyParts['inputs'], env: Record<string, string>): KeyParts {
  return { stage: { kind, code }, params: paramsHash(params), inputs, env };
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'unset' : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Human reasons a node's key differs from the one it had last time. */
export function explainChange(prev: KeyRecord | undefined, next: KeyRecord): string[] {
  if (!prev) return ['new node (never built)'];
  const reasons: string[] = [];
  if (prev.parts.stage.kind !== next.parts.stage.kind) reasons.push(`stage: ${prev.parts.stage.kind} -> ${next.parts.stage.kind}`);
  else if (prev.parts.stage.code !== next.parts.stage.code) {
    const files = new Set([...Object.keys(prev.sources), ...Object.keys(next.sources)]);
    const changed = [...files].filter((f) => prev.sources[f] !== next.sources[f]).sort();
    reasons.push(changed.length ? `code: ${changed.join(', ')}` : `code: ${next.parts.stage.code.startsWith('version:') ? next.parts.stage.code : 'stage version'}`);
  }
  if (prev.parts.params !== next.parts.params) {
    const keys = new Set([...Object.keys(prev.params), ...Object.keys(next.params)]);
    for (const k of [...keys].sort()) {
      if (canonicalJson(prev.params[k]) !== canonicalJson(next.params[k])) reasons.push(`params.${k}: ${show(prev.params[k])} -> ${show(next.params[k])}`);
    }
    if (!reasons.some((r) => r.startsWith('params.'))) reasons.push('params: hash changed');
  }
  for (const port of new Set([...Object.keys(prev.parts.inputs), ...Object.keys(next.parts.inputs)])) {
    if (canonicalJson(prev.parts.inputs[port]) !== canonicalJson(next.parts.inputs[port])) reasons.push(`inputs.${port}: upstream output changed`);
  }
  for (const k of new Set([...Object.keys(prev.parts.env), ...Object.keys(next.parts.env)])) {
    if (prev.parts.env[k] !== next.parts.env[k]) reasons.push(`env.${k}: ${prev.parts.env[k] ?? 'unset'} -> ${next.parts.env[k] ?? 'unset'}`);
  }
  const pd = prev.parts.deps ?? {};
  const nd = next.parts.deps ?? {};
  for (const f of [...new Set([...Object.keys(pd), ...Object.keys(nd)])].sort()) {
    if (pd[f] === nd[f]) continue;
    reasons.push(f in pd ? (f in nd ? `deps: ${f}` : `deps: ${f} (no longer imported)`) : `deps: ${f} (new)`);
  }
  return reasons.length ? reasons : ['output missing from the cache'];
}

/**
 * A node's key and what is stored beside it: the one place where node keys are composed (the
 * scheduler, plan, verify and exec all come through here).
 */
export function nodeKey(
  node: { kind: string; params: Record<string, unknown>; inputs: Record<string, { gather: boolean; ids: string[] }> },
  stage: { code: string; env: Record<string, string>; sources: Record<string, string> },
  upstream: (id: string) => GatheredInput,
  /** Deps discovered by earlier runs of the static key (a hint for which files; digests read now). */
  depsFor?: (staticKey: string) => Record<string, string> | undefined,
): { key: string; record: KeyRecord; staticKey: string } {
  const inputs: KeyParts['inputs'] = {};
  for (const [port, inp] of Object.entries(node.inputs)) {
    // A single input enters by its digest alone; a gathered one also by who is who.
    inputs[port] = inp.gather ? inp.ids.map((id) => upstream(id)) : upstream(inp.ids[0]).digest;
  }
  const parts = keyParts(node.kind, stage.code, node.params, inputs, stage.env);
  const staticKey = makeKey(parts);
  const deps = depsFor?.(staticKey);
  if (deps && Object.keys(deps).length) parts.deps = deps;
  return { key: parts.deps ? makeKey(parts) : staticKey, record: { parts, params: node.params, sources: stage.sources }, staticKey };
}
