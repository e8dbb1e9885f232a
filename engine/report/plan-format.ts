/**
 * `plan` (and `run --explain`) in one line per stage: how many of its nodes (would) run and why,
 * the reasons counted; `--verbose` gives the old one line per node.
 */
import type { NodeResult } from '../run/scheduler.ts';

export interface StageGroup {
  stage: string;
  kind: string;
  /** Nodes that will run (plan) or ran (run --explain). */
  toRun: number;
  cached: number;
  failed: number;
  skipped: number;
  /** Why they run, with how many nodes each reason applies to; most frequent first. */
  reasons: { reason: string; nodes: number }[];
}

const MAX_REASONS = 3;

/** Per-node reasons name an upstream node; grouped, they name its stage ("upstream ntk will run"). */
function normaliseReason(reason: string, stageOf: Map<string, string>): string {
  const m = /^upstream (.+) will run$/.exec(reason);
  return m ? `upstream ${stageOf.get(m[1]) ?? m[1]} will run` : reason;
}

export function groupByStage(nodes: NodeResult[], kindOf: (stage: string) => string): StageGroup[] {
  const stageOf = new Map(nodes.map((n) => [n.id, n.stage]));
  const groups = new Map<string, StageGroup & { counts: Map<string, number> }>();
  for (const n of nodes) {
    if (n.shared) continue; // listed under the node that computes it
    let g = groups.get(n.stage);
    if (!g) groups.set(n.stage, (g = { stage: n.stage, kind: kindOf(n.stage), toRun: 0, cached: 0, failed: 0, skipped: 0, reasons: [], counts: new Map() }));
    if (n.status === 'ran' || n.status === 'would-run') {
      g.toRun++;
      const reason = (n.changed ?? []).map((r) => normaliseReason(r, stageOf)).join('; ') || 'no recorded reason';
      g.counts.set(reason, (g.counts.get(reason) ?? 0) + 1);
    } else if (n.status === 'cached') g.cached++;
    else if (n.status === 'failed') g.failed++;
    else g.skipped++;
  }
  return [...groups.values()].map(({ counts, ...g }) => ({ ...g, reasons: [...counts].map(([reason, n]) => ({ reason, nodes: n })).sort((a, b) => b.nodes - a.nodes) }));
}

/** Aligned lines: `ntk  kernel  20 to run: params.activation: "erf" -> "relu"`. */
export function formatGroups(groups: StageGroup[], verb: 'to run' | 'ran'): string[] {
  const w1 = Math.max(...groups.map((g) => g.stage.length), 5);
  const w2 = Math.max(...groups.map((g) => g.kind.length), 4);
  return groups.map((g) => {
    const head = `${g.stage.padEnd(w1)}  ${g.kind.padEnd(w2)}  `;
    const rest = [g.cached ? `${g.cached} cached` : '', g.failed ? `${g.failed} failed` : '', g.skipped ? `${g.skipped} skipped` : ''].filter(Boolean).join(', ');
    if (!g.toRun) return `${head}${rest || 'nothing'}`;
    const shown = g.reasons.slice(0, MAX_REASONS).map((r) => (g.reasons.length > 1 ? `${r.reason} (${r.nodes})` : r.reason));
    const more = g.reasons.length > MAX_REASONS ? `; ${g.reasons.length - MAX_REASONS} more reasons (--verbose)` : '';
    return `${head}${g.toRun} ${verb}: ${shown.join('; ')}${more}${rest ? `; ${rest}` : ''}`;
  });
}
