/** `pipeline graph <target>`: a Mermaid flowchart of stages (or nodes). */
import { openSession, prepareTarget } from '../run/session.ts';
import type { TargetOptions } from './shared.ts';

export async function graphCommand(name: string, opts: TargetOptions & { nodes?: boolean }): Promise<string> {
  const s = openSession(opts);
  const { exp } = await prepareTarget(s, name, opts.profile, opts.set);
  const safe = (id: string) => id.replace(/[^\w]/g, '_');
  const lines = ['flowchart LR'];
  if (opts.nodes) {
    for (const n of exp.nodes) lines.push(`  ${safe(n.id)}["${n.id}"]`);
    for (const n of exp.nodes) for (const inp of Object.values(n.inputs)) for (const up of inp.ids) lines.push(`  ${safe(up)} --> ${safe(n.id)}`);
    return lines.join('\n');
  }
  const byId = new Map(exp.nodes.map((n) => [n.id, n]));
  const stageCount = new Map<string, { kind: string; n: number }>();
  const edges = new Set<string>();
  for (const n of exp.nodes) {
    const c = stageCount.get(n.stage) ?? { kind: n.kind, n: 0 };
    c.n++;
    stageCount.set(n.stage, c);
    for (const inp of Object.values(n.inputs)) for (const up of inp.ids) edges.add(`  ${safe(byId.get(up)!.stage)} --> ${safe(n.stage)}`);
  }
  for (const [stage, c] of stageCount) lines.push(`  ${safe(stage)}["${stage}: ${c.kind} x${c.n}"]`);
  lines.push(...edges);
  return lines.join('\n');
}
