/** `pipeline show <target|node>`: a target's shape, or a built node's meta. */
import { listTargets } from '../config/config.ts';
import { PipelineError } from '../errors.ts';
import { openSession, prepareTarget } from '../run/session.ts';
import type { TargetOptions } from './shared.ts';

export async function showCommand(what: string, opts: TargetOptions): Promise<unknown> {
  const s = openSession(opts);
  const targetNames = listTargets(s.roots.projectRoot);
  if (targetNames.some((t) => t.name === what || t.aliases.includes(what)) || what.endsWith('.yml')) {
    const { target, exp } = await prepareTarget(s, what, opts.profile, opts.set);
    const perStage = new Map<string, number>();
    for (const n of exp.nodes) perStage.set(n.stage, (perStage.get(n.stage) ?? 0) + 1);
    return {
      target: target.name,
      title: target.title,
      file: target.file,
      profile: target.profile,
      sweep: target.sweep,
      vars: target.vars,
      includes: target.include.map((c) => c.name),
      stages: Object.fromEntries([...perStage]),
      nodes: exp.nodes.length,
      publish: exp.publish,
    };
  }
  // A node id: look it up in the targets' last runs.
  for (const [target, runs] of Object.entries(s.cache.allRefs())) {
    const key = runs[0]?.nodes[what];
    if (!key) continue;
    const meta = s.cache.readMeta(key);
    return { target, dir: s.cache.entryDir(key), ...meta };
  }
  throw new PipelineError(`"${what}" is neither a target nor a node id of a target's last run (see \`pipeline ls\` and \`pipeline plan <target>\`)`);
}
