/** `pipeline run <target>`: build what is missing, publish the report. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeFailures } from '../run/failures.ts';
import { createProgress } from '../run/progress.ts';
import { publishTarget, writeReportsIndex } from '../report/publish.ts';
import { atShutdown } from '../run/shutdown.ts';
import { schedule } from '../run/scheduler.ts';
import { openSession, prepareTarget, previousKeys } from '../run/session.ts';
import { localGpuDevices } from '../executors/gpus.ts';
import { checkLocalResources } from '../executors/local-resources.ts';
import { LayeredStore } from '../store/layered.ts';
import { openRemote } from '../store/remote-config.ts';
import { waitForExclusiveUsers } from './exclusive.ts';
import { pushKeys } from './remote.ts';
import { createExecutor, summarise, type RunSummary, type TargetOptions } from './shared.ts';

export async function runCommand(name: string, opts: TargetOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const s = openSession(opts);
  const { target, exp, stages } = await prepareTarget(s, name, opts.profile, opts.set);
  // The same precedence as the slurm options: flag, then environment, then the config.
  const executorName = opts.executor ?? process.env.PIPELINE_EXECUTOR ?? target.executor ?? 'local';
  // Before anything runs: a bad URL or key file is bad input (exit 2).
  const remote = openRemote(s.cache, { flag: opts.remote, config: target.remote, locate: target.locate, write: opts.remoteWrite });
  const jobs = opts.jobs ?? s.defaultJobs;
  // Resources the local pool cannot give are said before anything runs (exit 2).
  if (executorName === 'local') {
    for (const note of checkLocalResources(exp, jobs, localGpuDevices())) if (!opts.quiet) process.stderr.write(`note: ${note}\n`);
  }
  const closeLease = s.cache.openLeaseIfWritable('run', target.name);
  try {
    await waitForExclusiveUsers(s.cache, opts.quiet);
    if (existsSync(s.cache.dir)) s.cache.sweep();
    const executor = await createExecutor(s, { name: executorName, jobs, slurmConfig: target.slurm, locate: target.locate, slurmCli: opts.slurm });
    const known = s.cache.readLastRun(target.name);
    const previous = previousKeys(s.cache, target.name);
    const progress = createProgress(exp.nodes, {
      quiet: opts.quiet,
      jobs: Math.min(jobs, executor.slots),
      // Asked only by the TTY's ETA, once a second and once per node at most: a no-op run ends first.
      previousSeconds: (n) => {
        const key = previous().get(n.id);
        return key ? s.cache.readMeta(key)?.seconds : undefined;
      },
    });
    // Ctrl-C / SIGTERM end the process (shutdown.ts); first, cancel what runs elsewhere on this
    // run's behalf (scancel).
    const forget = atShutdown(() => void executor.cancel?.());
    let done;
    try {
      done = await schedule(exp, {
        cache: s.cache,
        stages,
        executor,
        projectRoot: s.roots.projectRoot,
        force: opts.force,
        verifyInputs: opts.verifyInputs,
        previous,
        known,
        store: new LayeredStore(s.cache, remote),
        events: progress,
      });
    } finally {
      forget();
      progress.stop();
      await executor.close();
    }
    let pushed: number | undefined;
    if (remote && opts.remoteWrite) {
      const built = [...new Set(exp.nodes.map((n) => done.get(n.id)!).filter((d) => d.result.status === 'ran' || d.result.status === 'cached').map((d) => d.result.key!))];
      try {
        pushed = (await pushKeys(remote, built)).pushed;
      } catch (e) {
        // The build itself is fine: said loudly, and the summary shows no push count.
        remote.warnings.warn('push', (e as Error).message);
      }
    }
    remote?.http.close();
    const published: string[] = [];
    for (const t of opts.publish === false ? [] : exp.targets) {
      const id = exp.publish[t.name];
      if (!id) continue;
      const r = publishTarget(t, id, { cache: s.cache, reportsDir: s.reportsDir, projectRoot: s.roots.projectRoot, nodes: exp.nodes, results: done, stages, force: opts.force });
      if (r === 'published') published.push(join('reports', t.name));
    }
    if (published.length || (opts.publish !== false && !existsSync(join(s.reportsDir, 'README.md')))) writeReportsIndex(s.reportsDir, s.roots.projectRoot);
    const results = exp.nodes.map((n) => done.get(n.id)!.result);
    const ok = exp.nodes.filter((n) => ['ran', 'cached'].includes(done.get(n.id)!.result.status));
    const keys = Object.fromEntries(ok.map((n) => [n.id, done.get(n.id)!.result.key!]));
    const digests = Object.fromEntries(ok.map((n) => [n.id, done.get(n.id)!.digest!]));
    // A run that computed nothing and matches the last record adds nothing: keeps a no-op fast.
    // A record whose digest or stamp no longer holds (stale, damaged) is rewritten.
    const holds = (id: string) => {
      const k = known.get(id);
      return k?.key === keys[id] && k.digest === digests[id] && k.stamp !== undefined && k.stamp === s.cache.metaStamp(k.key, k.digest);
    };
    const unchanged = ok.length === known.size && ok.every((n) => holds(n.id));
    if (ok.length && !unchanged && opts.publish !== false) s.cache.addRun(target.name, { time: new Date().toISOString(), profile: target.profile, nodes: keys }, digests);
    const failures = describeFailures(exp, results, process.cwd());
    const summary = summarise(exp, target.name, target.profile, results, (performance.now() - t0) / 1000, published, failures, executorName === 'local' ? undefined : executorName);
    if (remote) summary.remote = { where: remote.http.where, pulled: results.filter((r) => r.pulled).length, ...(pushed !== undefined ? { pushed } : {}), warnings: remote.warnings.count() };
    return summary;
  } finally {
    closeLease();
  }
}
