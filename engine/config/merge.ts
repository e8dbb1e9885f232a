/** Deep merge for config layering: mappings merge, anything else replaces, null deletes. */
export type Doc = Record<string, unknown>;

export function isMapping(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Doc, over: Doc): Doc {
  const out: Doc = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isMapping(v) && isMapping(out[k])) out[k] = deepMerge(out[k] as Doc, v);
    else out[k] = v;
  }
  return out;
}

export function getPath(doc: unknown, path: readonly string[]): unknown {
  let cur = doc;
  for (const p of path) {
    if (!isMapping(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

export function setPath(doc: Doc, path: readonly string[], value: unknown): void {
  let cur: Doc = doc;
  for (const p of path.slice(0, -1)) {
    if (!isMapping(cur[p])) cur[p] = {};
    cur = cur[p] as Doc;
  }
  cur[path[path.length - 1]] = value;
}
