/** Checks a node's params against its stage's declared ParamSpecs and fills defaults. */
import { describeValue } from '../errors.ts';
import type { ParamSpec, StageDefinition } from '../stage-api.ts';

export interface ParamIssue {
  /** Key relative to the stage's params, e.g. "std" or "class_sizes". */
  key: string;
  message: string;
}

function checkScalar(spec: ParamSpec, type: string, v: unknown): string | undefined {
  switch (type) {
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return `expected a number, got ${describeValue(v)}`;
      break;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return `expected an integer, got ${describeValue(v)}`;
      break;
    case 'string':
      if (typeof v !== 'string') return `expected a string, got ${describeValue(v)}`;
      break;
    case 'file':
      if (typeof v !== 'string' || v === '') return `expected a file path, got ${describeValue(v)}`;
      break;
    case 'boolean':
      if (typeof v !== 'boolean') return `expected true or false, got ${describeValue(v)}`;
      break;
  }
  if (spec.enum && !spec.enum.includes(v as never)) {
    return `expected one of ${spec.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${describeValue(v)}`;
  }
  if (typeof v === 'number') {
    if (spec.min !== undefined && v < spec.min) return `expected a value >= ${spec.min}, got ${v}`;
    if (spec.greaterThan !== undefined && v <= spec.greaterThan) return `expected a value > ${spec.greaterThan}, got ${v}`;
    if (spec.max !== undefined && v > spec.max) return `expected a value <= ${spec.max}${spec.maxReason ? ` (${spec.maxReason})` : ''}, got ${v}`;
  }
  return undefined;
}

export function checkParam(spec: ParamSpec, v: unknown): string | undefined {
  if (spec.type === 'any') return undefined;
  if (spec.type.endsWith('[]')) {
    const inner = spec.type.slice(0, -2);
    if (!Array.isArray(v)) return `expected a list of ${inner}s, got ${describeValue(v)}`;
    for (let i = 0; i < v.length; i++) {
      const m = checkScalar(spec, inner, v[i]);
      if (m) return `element ${i}: ${m}`;
    }
    return undefined;
  }
  return checkScalar(spec, spec.type, v);
}

/** Returns the params with defaults filled in, or the first problem found. */
export function validateParams(
  def: StageDefinition,
  given: Record<string, unknown>,
): { params: Record<string, unknown>; issue?: ParamIssue } {
  const params: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    // Own keys only: "constructor" is in every object.
    if (!Object.hasOwn(def.params, key)) {
      const known = Object.keys(def.params).join(', ');
      return { params, issue: { key, message: `unknown param; this stage takes: ${known}` } };
    }
  }
  for (const [key, spec] of Object.entries(def.params)) {
    let v = given[key];
    if (v === undefined) {
      // Only objects need a copy (a stage must not mutate a shared default).
      if (spec.default !== undefined) v = typeof spec.default === 'object' ? structuredClone(spec.default) : spec.default;
      else if (spec.optional) continue;
      else return { params, issue: { key, message: `required param is missing (${spec.doc})` } };
    }
    const m = checkParam(spec, v);
    if (m) return { params, issue: { key, message: m } };
    params[key] = v;
  }
  const problem = def.check?.(params);
  if (problem) return { params, issue: problem };
  return { params };
}
