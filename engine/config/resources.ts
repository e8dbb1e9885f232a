/**
 * Per-stage resources (`resources: { threads: 2, mem: 4G, time: 30m, gpus: 1 }`): what a node
 * needs to be scheduled, never what it computes. They are in no node key (changing `threads`
 * must not invalidate a cache, as changing `cpus` did for every Nextflow entry), and they are not
 * part of a node's structural identity: two stages that share a node share it whatever they ask.
 */
import { describeValue, PipelineError, type Location } from '../errors.ts';
import { isMapping } from './merge.ts';

export interface Resources {
  /** Cores a node uses: it takes that many of the local pool's `--jobs` slots. */
  threads?: number;
  /** Memory, as written (`4G`, `512M`, or a number of megabytes as Slurm reads it). */
  mem?: string;
  /** Wall time of one node, as written (`30m`, `2h`, `1h30m`, `90s`, `1d`, `HH:MM:SS`, minutes). */
  time?: string;
  /** GPUs a node uses: locally each job gets its own CUDA_VISIBLE_DEVICES. */
  gpus?: number;
}

export const RESOURCE_KEYS = ['threads', 'mem', 'time', 'gpus'] as const;

const MEM = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i;
const MEM_UNIT_MB: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/** Megabytes of a `mem` value: "4G" -> 4096, "512M" -> 512, "100" -> 100 (Slurm's default unit). */
export function memMegabytes(mem: string): number | undefined {
  const m = MEM.exec(mem.trim());
  if (!m) return undefined;
  const mb = Number(m[1]) * MEM_UNIT_MB[(m[2] || 'M').toUpperCase()];
  return Number.isFinite(mb) && mb > 0 ? Math.ceil(mb) : undefined;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds of a `time` value: "30m", "1h30m", "90s", "1d", "01:30:00", "45" (minutes, as Slurm). */
export function timeSeconds(time: string): number | undefined {
  const t = time.trim();
  let s: number;
  if (/^\d+(\.\d+)?$/.test(t)) s = Number(t) * 60;
  else if (/^\d+(:\d{1,2}){1,2}$/.test(t)) {
    // MM:SS or HH:MM:SS, as Slurm reads them.
    const parts = t.split(':').map(Number);
    if (parts.slice(1).some((p) => p >= 60)) return undefined;
    s = parts.length === 2 ? parts[0] * 60 + parts[1] : parts[0] * 3600 + parts[1] * 60 + parts[2];
  } else if (/^(\d+(\.\d+)?[smhd])+$/i.test(t)) {
    s = 0;
    for (const m of t.matchAll(/(\d+(?:\.\d+)?)([smhd])/gi)) s += Number(m[1]) * UNIT_SECONDS[m[2].toLowerCase()];
  } else return undefined;
  return Number.isFinite(s) && s > 0 ? Math.ceil(s) : undefined;
}

/**
 * A config's `resources:` mapping, checked: whole numbers for threads (>= 1) and gpus (>= 0),
 * sizes and durations Slurm understands. Each error names the key.
 */
export function parseResources(raw: unknown, at: (key?: string) => Location): Resources {
  if (!isMapping(raw)) throw new PipelineError(`expected a mapping such as { threads: 2, mem: 4G, time: 30m, gpus: 1 }, got ${describeValue(raw)}`, at());
  const out: Resources = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(RESOURCE_KEYS as readonly string[]).includes(k)) throw new PipelineError(`unknown resource; expected ${RESOURCE_KEYS.join(', ')}`, at(k));
    if (k === 'threads' || k === 'gpus') {
      const min = k === 'threads' ? 1 : 0;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 4096) throw new PipelineError(`expected a whole number >= ${min}, got ${describeValue(v)}`, at(k));
      out[k] = v;
    } else if (k === 'mem') {
      const s = typeof v === 'number' ? String(v) : v;
      if (typeof s !== 'string' || memMegabytes(s) === undefined) throw new PipelineError(`expected a size such as 4G, 512M or a number of megabytes, got ${describeValue(v)}`, at(k));
      out.mem = s.trim();
    } else {
      const s = typeof v === 'number' ? String(v) : v;
      if (typeof s !== 'string' || timeSeconds(s) === undefined) throw new PipelineError(`expected a duration such as 30m, 2h, 1h30m, 90s, 1d, HH:MM:SS or a number of minutes, got ${describeValue(v)}`, at(k));
      out.time = s.trim();
    }
  }
  return out;
}

/**
 * What a node shared by several stages needs: the most each of them asks (a node computes once,
 * so it must fit every declaration).
 */
export function mergeResources(a: Resources | undefined, b: Resources | undefined): Resources | undefined {
  if (!a) return b;
  if (!b) return a;
  const max = <T>(x: T | undefined, y: T | undefined, size: (v: T) => number): T | undefined => (x === undefined ? y : y === undefined ? x : size(y) > size(x) ? y : x);
  const out: Resources = {
    threads: max(a.threads, b.threads, (v) => v),
    mem: max(a.mem, b.mem, (v) => memMegabytes(v) ?? 0),
    time: max(a.time, b.time, (v) => timeSeconds(v) ?? 0),
    gpus: max(a.gpus, b.gpus, (v) => v),
  };
  for (const k of RESOURCE_KEYS) if (out[k] === undefined) delete out[k];
  return out;
}

/** Job slots a node takes in a pool of `slots`: its threads, never more than the pool has. */
export function slotsFor(r: Resources | undefined, slots: number): number {
  return Math.max(1, Math.min(r?.threads ?? 1, slots));
}

/** A short text naming a resource class ("threads=2 mem=4G gpus=1"), for grouping and messages. */
export function describeResources(r: Resources | undefined): string {
  const parts = RESOURCE_KEYS.filter((k) => r?.[k] !== undefined).map((k) => `${k}=${r![k]}`);
  return parts.join(' ') || 'default';
}
