/**
 * Packs ready nodes into the tasks of one job array: few tasks for many small nodes (fig3's
 * thousand kernels become a handful of tasks, not a thousand jobs), a task of its own for a node
 * that alone fills one (an EoS solve at N = 2048). Longest first onto the least loaded task (LPT).
 */
export interface Packable {
  /** Estimated seconds (from the node's last recorded run time, or a default). */
  seconds: number;
}

export interface PackOptions {
  /** Fixed nodes per task (--slurm-nodes-per-job); overrides sizing by time. */
  nodesPerJob?: number;
  taskSeconds: number;
  minTasks: number;
}

export function packTasks<T extends Packable>(items: T[], o: PackOptions): T[][] {
  if (!items.length) return [];
  if (o.nodesPerJob) {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += o.nodesPerJob) out.push(items.slice(i, i + o.nodesPerJob));
    return out;
  }
  const total = items.reduce((a, x) => a + x.seconds, 0);
  const big = items.filter((x) => x.seconds >= o.taskSeconds).length;
  const k = Math.min(items.length, Math.max(Math.ceil(total / o.taskSeconds), big, o.minTasks));
  const tasks: { load: number; items: T[] }[] = Array.from({ length: k }, () => ({ load: 0, items: [] }));
  // Stable order for equal estimates: the order the scheduler handed them over.
  const order = items.map((x, i) => ({ x, i })).sort((a, b) => b.x.seconds - a.x.seconds || a.i - b.i);
  for (const { x } of order) {
    let best = tasks[0];
    for (const t of tasks) if (t.load < best.load) best = t;
    best.items.push(x);
    best.load += x.seconds;
  }
  return tasks.filter((t) => t.items.length).map((t) => t.items);
}
