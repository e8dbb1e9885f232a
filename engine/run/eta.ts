/**
 * How long the rest of a run will take: the expected run time of every node not yet finished,
 * spread over the jobs that run at once. A node's expected time is, in order of trust: its own
 * time when it last ran (recorded in its previous cache entry), a fit of the times of the nodes of
 * its stage that ran in this build, the mean of all nodes that ran. A running node subtracts what
 * it has already spent (or scales by its reported fraction).
 *
 * The fit: a sweep's cells differ in cost by orders of magnitude (an EoS solve at N = 1024 costs
 * ~60 times one at N = 256), and the cheap cells tend to finish first, so a plain stage mean makes
 * a cold build's ETA far too short. Within a stage, time is fitted as a power law of the numeric
 * sweep coordinates that vary among its finished nodes (log t = a + sum b_k log x_k, least squares),
 * which is exact for the N^3 of a matrix solve and falls back to the mean when nothing varies.
 */
import type { PlanNode } from '../config/expand.ts';

export interface RunTimes {
  byStage: Map<string, { n: number; seconds: number }>;
  all: { n: number; seconds: number };
  /** Finished nodes' sweep coordinates and times, per stage (for the fit). */
  samples?: Map<string, { coords: Record<string, unknown>; seconds: number }[]>;
}

/** Adds a finished node's run time to what the ETA knows. */
export function recordTime(times: RunTimes, node: PlanNode, seconds: number): void {
  const s = times.byStage.get(node.stage) ?? { n: 0, seconds: 0 };
  s.n++;
  s.seconds += seconds;
  times.byStage.set(node.stage, s);
  times.all.n++;
  times.all.seconds += seconds;
  times.samples ??= new Map();
  const list = times.samples.get(node.stage) ?? [];
  list.push({ coords: node.coords ?? {}, seconds });
  times.samples.set(node.stage, list);
}

/** A positive number a coordinate stands for on a log scale (a list: its largest entry). */
function magnitude(v: unknown): number | undefined {
  if (typeof v === 'number') return v > 0 ? v : undefined;
  if (Array.isArray(v) && v.length && v.every((x) => typeof x === 'number' && x > 0)) return Math.max(...(v as number[]));
  return undefined;
}

/** Solves the small normal equations A b = r (Gaussian elimination with partial pivoting). */
function solveSmall(A: number[][], r: number[]): number[] | undefined {
  const n = r.length;
  const M = A.map((row, i) => [...row, r[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(M[i][c]) > Math.abs(M[p][c])) p = i;
    if (Math.abs(M[p][c]) < 1e-12) return undefined;
    [M[c], M[p]] = [M[p], M[c]];
    for (let i = c + 1; i < n; i++) {
      const f = M[i][c] / M[c][c];
      for (let j = c; j <= n; j++) M[i][j] -= f * M[c][j];
    }
  }
  const b = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i][n];
    for (let j = i + 1; j < n; j++) s -= M[i][j] * b[j];
    b[i] = s / M[i][i];
  }
  return b;
}

/** Expected seconds of a node of a stage from the power-law fit of its stage's finished nodes. */
export function fittedSeconds(times: RunTimes, node: PlanNode): number | undefined {
  const samples = times.samples?.get(node.stage);
  if (!samples?.length) return undefined;
  const coords = node.coords ?? {};
  // Axes that vary among the samples and are positive numbers in the node and every sample.
  const axes = Object.keys(coords).filter((k) => {
    if (magnitude(coords[k]) === undefined) return false;
    const seen = new Set<number>();
    for (const s of samples) {
      const m = magnitude(s.coords[k]);
      if (m === undefined) return false;
      seen.add(m);
    }
    return seen.size >= 2;
  });
  const logMean = samples.reduce((a, s) => a + Math.log(Math.max(s.seconds, 1e-3)), 0) / samples.length;
  if (!axes.length) return samples.reduce((a, s) => a + s.seconds, 0) / samples.length;
  // Least squares on centred logs, a little ridge so that an axis barely sampled stays tame.
  const means = axes.map((k) => samples.reduce((a, s) => a + Math.log(magnitude(s.coords[k])!), 0) / samples.length);
  const X = samples.map((s) => axes.map((k, i) => Math.log(magnitude(s.coords[k])!) - means[i]));
  const y = samples.map((s) => Math.log(Math.max(s.seconds, 1e-3)) - logMean);
  const A = axes.map((_, i) => axes.map((_, j) => X.reduce((a, row) => a + row[i] * row[j], 0) + (i === j ? 1e-6 * samples.length : 0)));
  const r = axes.map((_, i) => X.reduce((a, row, n) => a + row[i] * y[n], 0));
  const b = solveSmall(A, r);
  if (!b) return undefined;
  // A cost does not fall as a sweep value grows, nor grow faster than a cube (dense linear algebra).
  const pred = axes.reduce((a, k, i) => a + Math.min(3, Math.max(0, b[i])) * (Math.log(magnitude(coords[k])!) - means[i]), logMean);
  return Math.exp(pred);
}

export interface EtaInput {
  pending: PlanNode[];
  running: { node: PlanNode; elapsed: number; fraction: number; previous?: number }[];
  times: RunTimes;
  jobs: number;
  /** A pending node's own time when it last ran (a resumed or rebuilt target), if known. */
  previous?: (node: PlanNode) => number | undefined;
}

function stageMean(times: RunTimes, stage: string): number | undefined {
  const s = times.byStage.get(stage);
  if (s?.n) return s.seconds / s.n;
  return times.all.n ? times.all.seconds / times.all.n : undefined;
}

/** Seconds left, or undefined while nothing is known (no node has run or reported yet). */
export function estimateRemaining(input: EtaInput): number | undefined {
  let work = 0;
  let known = false;
  // Before any node of a stage has finished, its running nodes' pace stands in for its mean.
  const provisional = new Map<string, { n: number; seconds: number }>();
  for (const r of input.running) {
    const total = r.previous ?? (r.fraction > 0.02 ? r.elapsed / r.fraction : undefined);
    if (total === undefined) continue;
    const p = provisional.get(r.node.stage) ?? { n: 0, seconds: 0 };
    p.n++;
    p.seconds += total;
    provisional.set(r.node.stage, p);
  }
  const meanOf = (node: PlanNode) => {
    const stage = node.stage;
    const p = provisional.get(stage);
    if (input.times.byStage.get(stage)?.n) return fittedSeconds(input.times, node) ?? stageMean(input.times, stage);
    return p ? p.seconds / p.n : stageMean(input.times, stage);
  };
  for (const r of input.running) {
    const expected = r.previous ?? (input.times.byStage.get(r.node.stage)?.n ? fittedSeconds(input.times, r.node) : undefined) ?? stageMean(input.times, r.node.stage);
    if (expected !== undefined) {
      work += Math.max(0, expected - r.elapsed);
      known = true;
    } else if (r.fraction > 0.02) {
      work += (r.elapsed / r.fraction) * (1 - r.fraction);
      known = true;
    }
  }
  // Pending nodes: the per-stage means of this build (a cached node ends at once and leaves the list).
  for (const n of input.pending) {
    const m = input.previous?.(n) ?? meanOf(n);
    if (m === undefined) continue;
    work += m;
    known = true;
  }
  if (!known) return undefined;
  return work / Math.max(1, input.jobs);
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
