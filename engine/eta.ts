/**
 * How long the rest of a run will take: the expected run time of every node not yet finished,
 * spread over the jobs that run at once. A node's expected time is, in order of trust: its own
 * time when it last ran (recorded in its previous cache entry), the mean of the nodes of its
 * stage that ran in this build, the mean of all nodes that ran. A running node subtracts what it
 * has already spent (or scales by its reported fraction).
 */
import type { PlanNode } from './expand.ts';

export interface RunTimes {
  byStage: Map<string, { n: number; seconds: number }>;
  all: { n: number; seconds: number };
}

export interface EtaInput {
  pending: PlanNode[];
  running: { node: PlanNode; elapsed: number; fraction: number; previous?: number }[];
  times: RunTimes;
  jobs: number;
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
  const meanOf = (stage: string) => {
    const p = provisional.get(stage);
    return input.times.byStage.get(stage)?.n ? stageMean(input.times, stage) : p ? p.seconds / p.n : stageMean(input.times, stage);
  };
  for (const r of input.running) {
    const expected = r.previous ?? stageMean(input.times, r.node.stage);
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
    const m = meanOf(n.stage);
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
