/**
 * `npm run bench:cluster [target] [hosts] [cores]`: the expected wall time of a target on a Slurm
 * cluster of `hosts` machines of `cores` cores (default: paper, full profile, 16 x 2), from node
 * run times measured here.
 *
 * Each node's time is its own recorded run time when the cache holds a build of the same stage
 * kind with the same params (from any target's recorded runs); otherwise it is extrapolated from
 * the measured node of that kind whose params differ least, scaled by the size parameter N as the
 * stage's cost grows (EoS and kernels: N^3 and N^2; training: N; the rest: not scaled). The
 * schedule is greedy list scheduling in dependency order on hosts x cores slots (one core per
 * node, as --slurm-cpus-per-task 1), plus the slurm executor's latency per dependency level
 * measured here (submission, queueing, task start-up); light stages run on the driver.
 * Prints the estimate, what bounds it, the longest dependency chain and the largest nodes.
 */
import { join } from 'node:path';
import { Cache } from '../engine/store/cache.ts';
import { canonicalJson } from '../engine/keys/hash.ts';
import { openSession, prepareTarget } from '../engine/run/session.ts';
import type { PlanNode } from '../engine/config/expand.ts';

const root = join(import.meta.dirname, '..');
const target = process.argv[2] ?? 'paper';
const hosts = Number(process.argv[3] ?? 16);
const cores = Number(process.argv[4] ?? 2);
const profile = process.env.PROFILE ?? 'full';
/** Seconds a Slurm dependency level costs beyond its compute (sbatch, scheduling, task start-up), measured on the one-node cluster. */
const WAVE_SECONDS = Number(process.env.WAVE_SECONDS ?? 3);

const s = openSession({ packageRoot: root, buildDir: join(root, '.build'), cwd: root, cacheDir: process.env.PIPELINE_CACHE_DIR });
const { exp, stages } = await prepareTarget(s, target, profile);
const cache: Cache = s.cache;

// Measured nodes: every entry a recorded run of any target used, with its stage kind and params.
interface Measured {
  kind: string;
  params: Record<string, unknown>;
  /** The node's sweep cell without its repeat: "N=2048,d0=1,class_sizes=[1024,1024]". */
  cell: string;
  seconds: number;
}

/** A node's sweep cell from its id (sizes live in coordinates, not in every stage's params). */
function cellOf(id: string): string {
  const inside = /\[(.*)\]$/.exec(id)?.[1] ?? '';
  return inside.replace(/(^|,)repeat=\d+/, '').replace(/^,/, '');
}

/** The size the cost grows with: N, else the sum of class sizes. */
function sizeOf(cell: string): number {
  const n = /(?:^|,)N=(\d+)/.exec(cell)?.[1];
  if (n) return Number(n);
  const sizes = /class_sizes=\[([\d,]+)\]/.exec(cell)?.[1];
  return sizes ? sizes.split(',').reduce((a, b) => a + Number(b), 0) : 0;
}
const measured = new Map<string, Measured>();
for (const runs of Object.values(cache.allRefs())) {
  for (const run of runs) {
    for (const key of Object.values(run.nodes)) {
      if (measured.has(key)) continue;
      const meta = cache.readMeta(key);
      if (meta) measured.set(key, { kind: meta.kind, params: meta.record.params, cell: cellOf(meta.id), seconds: meta.seconds });
    }
  }
}
const identity = (kind: string, params: Record<string, unknown>, cell: string) => `${kind}|${canonicalJson(params)}|${cell}`;
const byIdentity = new Map([...measured.values()].map((m) => [identity(m.kind, m.params, m.cell), m]));

const EXPONENT: Record<string, number> = { eos: 3, kernel: 2, nc1: 2, train: 1 };

function estimate(n: PlanNode): { seconds: number; how: 'measured' | 'extrapolated' | 'default' } {
  // The same computation measured here: stage kind, params and sweep cell (another repeat's seed counts).
  const cell = cellOf(n.id);
  const exact = byIdentity.get(identity(n.kind, n.params, cell));
  if (exact) return { seconds: exact.seconds, how: 'measured' };
  // Else the measured node of the same kind whose params differ least (the largest on a tie), scaled by N.
  const same = [...measured.values()].filter((m) => m.kind === n.kind);
  if (!same.length) return { seconds: 1, how: 'default' };
  const differences = (m: Measured) =>
    [...new Set([...Object.keys(n.params), ...Object.keys(m.params)])].filter((k) => canonicalJson(n.params[k]) !== canonicalJson(m.params[k])).length +
    (m.cell.replace(/(^|,)N=\d+/, '') === cell.replace(/(^|,)N=\d+/, '') ? 0 : 1);
  const best = same.reduce((a, b) => (differences(b) < differences(a) || (differences(b) === differences(a) && sizeOf(b.cell) > sizeOf(a.cell)) ? b : a));
  const ratio = sizeOf(cell) && sizeOf(best.cell) ? sizeOf(cell) / sizeOf(best.cell) : 1;
  return { seconds: best.seconds * ratio ** (EXPONENT[n.kind] ?? 0), how: 'extrapolated' };
}

const byId = new Map(exp.nodes.map((n) => [n.id, n]));
const est = new Map(exp.nodes.map((n) => [n.id, estimate(n)]));
const light = (n: PlanNode) => !!stages.get(n.kind)?.def.light;

// Earliest finish in dependency order on hosts*cores slots (greedy, longest-ready-first).
const level = new Map<string, number>();
for (const n of exp.nodes) {
  const ups = Object.values(n.inputs).flatMap((i) => i.ids);
  level.set(n.id, ups.length ? Math.max(...ups.map((u) => level.get(u)!)) + 1 : 0);
}
const slots = Array.from({ length: hosts * cores }, () => 0);
const finish = new Map<string, number>();
const pending = [...exp.nodes].sort((a, b) => level.get(a.id)! - level.get(b.id)! || est.get(b.id)!.seconds - est.get(a.id)!.seconds);
let critical = { id: '', at: 0 };
for (const n of pending) {
  const ups = Object.values(n.inputs).flatMap((i) => i.ids);
  const ready = ups.length ? Math.max(...ups.map((u) => finish.get(u)!)) : 0;
  const t = est.get(n.id)!.seconds;
  let at: number;
  if (light(n)) at = ready + t; // on the driver, beside the cluster's slots
  else {
    let k = 0;
    for (let i = 1; i < slots.length; i++) if (slots[i] < slots[k]) k = i;
    at = Math.max(slots[k], ready + WAVE_SECONDS) + t;
    slots[k] = at;
  }
  finish.set(n.id, at);
  if (at > critical.at) critical = { id: n.id, at };
}

// The longest chain of dependent nodes by estimated time: the wall time no number of hosts beats.
const longest = new Map<string, { seconds: number; from?: string }>();
for (const n of exp.nodes) {
  const ups: string[] = Object.values(n.inputs).flatMap((i) => i.ids);
  const best = ups.reduce<string | undefined>((a, b) => (a === undefined || longest.get(b)!.seconds > longest.get(a)!.seconds ? b : a), undefined);
  longest.set(n.id, { seconds: est.get(n.id)!.seconds + (best ? longest.get(best)!.seconds : 0), from: best });
}
const end = exp.nodes.reduce((a, b) => (longest.get(b.id)!.seconds > longest.get(a.id)!.seconds ? b : a));
const chain: string[] = [];
for (let id: string | undefined = end.id; id; id = longest.get(id)!.from) chain.unshift(id);
const total = [...est.values()].reduce((a, e) => a + e.seconds, 0);
const counts = { measured: 0, extrapolated: 0, default: 0 };
for (const e of est.values()) counts[e.how]++;
const h = (x: number) => (x >= 3600 ? `${(x / 3600).toFixed(1)} h` : x >= 60 ? `${(x / 60).toFixed(1)} min` : `${x.toFixed(1)} s`);
console.log(`${target} (${profile}): ${exp.nodes.length} nodes; run times ${counts.measured} measured here, ${counts.extrapolated} extrapolated, ${counts.default} unknown (1 s)`);
console.log(`compute: ${h(total)} in all (one core); on ${hosts} hosts x ${cores} cores with ${WAVE_SECONDS} s of Slurm latency per level: ${h(critical.at)} wall`);
console.log(`bound by: ${critical.at > 1.5 * longest.get(end.id)!.seconds ? `throughput (compute / ${hosts * cores} slots = ${h(total / (hosts * cores))})` : 'the longest chain'}`);
console.log(`longest chain (${h(longest.get(end.id)!.seconds)}, ${chain.length} nodes): ${chain.map((id) => `${id} ${h(est.get(id)!.seconds)}`).join(' -> ')}`);
const largest = [...exp.nodes].sort((a, b) => est.get(b.id)!.seconds - est.get(a.id)!.seconds).slice(0, 5);
console.log(`largest nodes: ${largest.map((n) => `${n.id} ${h(est.get(n.id)!.seconds)} (${est.get(n.id)!.how})`).join('; ')}`);
