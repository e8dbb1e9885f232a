/** `pipeline plan <target>`: the scheduler's walk without an executor: what would run, and why. */
import { schedule } from '../run/scheduler.ts';
import { openSession, prepareTarget, previousKeys } from '../run/session.ts';
import { summarise, type RunSummary, type TargetOptions } from './shared.ts';

export async function planCommand(name: string, opts: TargetOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const s = openSession(opts);
  // plan reads the cache and changes nothing in it (a damaged entry is only reported as to run).
  s.cache.readOnly = true;
  const { target, exp, stages } = await prepareTarget(s, name, opts.profile, opts.set);
  const known = s.cache.readLastRun(target.name);
  const done = await schedule(exp, { cache: s.cache, stages, projectRoot: s.roots.projectRoot, force: opts.force, previous: previousKeys(s.cache, target.name), known });
  const results = exp.nodes.map((n) => done.get(n.id)!.result);
  return summarise(exp, target.name, target.profile, results, (performance.now() - t0) / 1000, []);
}
