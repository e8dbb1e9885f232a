/**
 * Checks a parsed YAML document before anything else walks it: its size once aliases are expanded
 * (a shared reference counts every time it is reached, as every later walk would reach it), and
 * keys that would write into an object's prototype when merged or assigned.
 */
import { MAX_CONFIG_VALUES } from './limits.ts';

/** Keys that reach Object.prototype through `obj[key] = ...` or name its machinery. */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.includes(key);
}

export interface DocProblem {
  /** Path of the value where the problem was found (keys and list indices). */
  path: (string | number)[];
  message: string;
}

/**
 * Walks `doc` depth-first, at most `budget` values; returns the first problem, or undefined.
 * The walk stops as soon as the budget is spent, so checking a 10^9-value bomb costs 10^5 steps.
 */
export function checkDocument(doc: unknown, budget = MAX_CONFIG_VALUES): DocProblem | undefined {
  let left = budget;
  const path: (string | number)[] = [];
  const walk = (v: unknown): DocProblem | undefined => {
    if (--left < 0) {
      return {
        path: [...path],
        message: `the document holds more than ${budget.toLocaleString('en')} values (each use of a YAML alias *name counts its whole value), the most a config may hold; long lists belong in a data file, and aliases of aliases multiply`,
      };
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        const p = walk(v[i]);
        path.pop();
        if (p) return p;
      }
    } else if (typeof v === 'object' && v !== null) {
      for (const k of Object.keys(v)) {
        path.push(k);
        if (isForbiddenKey(k)) return { path: [...path], message: `"${k}" is not allowed as a key (it would reach the object prototype)` };
        const p = walk((v as Record<string, unknown>)[k]);
        path.pop();
        if (p) return p;
      }
    }
    return undefined;
  };
  return walk(doc);
}
