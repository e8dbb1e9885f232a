import { createHash } from 'node:crypto';
import objectHash from 'object-hash';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with sorted keys: one text per value, whatever the key order it was built in. */
export function canonicalJson(v: unknown): string {
  if (typeof v !== 'object' || v === null) return JSON.stringify(v) ?? 'null';
  let out: string;
  if (Array.isArray(v)) {
    out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + canonicalJson(v[i]);
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  out = '{';
  let first = true;
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(o[k])}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * The params part of a node key: object-hash of the params' canonical JSON text. Canonical JSON
 * already fixes key order and keeps types apart (1 vs "1"); hashing one string instead of letting
 * object-hash walk the object is ~50x faster (a no-op run of fig3 hashes 1004 params).
 */
const paramsHashes = new Map<string, string>();

export function paramsHash(params: Record<string, unknown>): string {
  const text = canonicalJson(params);
  let h = paramsHashes.get(text);
  if (h === undefined) {
    // Memoised: most nodes of a stage share their params (a sweep varies a few).
    h = objectHash(text, { algorithm: 'sha1' });
    paramsHashes.set(text, h);
  }
  return h;
}
