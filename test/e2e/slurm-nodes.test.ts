/**
 * The slurm executor on a 3-node cluster (scripts/slurm/up.sh --nodes 3: three slurmd on this
 * host, each in its own UTS+PID namespace where unshare works): `paper --profile quick` spreads
 * its tasks over the nodes and gives the keys and digests of a local build; a node that crashes
 * mid-run fails its nodes with their Slurm state while the others finish, and a rerun on the
 * nodes left completes them with the same digests.
 */
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Cache } from '../../engine/store/cache.ts';
import { placement, type RunSummary } from '../../engine/commands.ts';
import { cli, cliAsync, makeProject, PACKAGE_ROOT, slowConfig, TOY_STAGES, waitFor } from '../helpers/project.ts';
import { nodeStates, slurmCluster, squeue } from '../helpers/slurm.ts';

const cluster = slurmCluster(3);

type Node = RunSummary['nodes'][number];

/** Node id -> "key:digest", the digest read from the entry's meta.json (not from refs/, a hint). */
function keysAndDigests(s: RunSummary, cacheDir: string): Record<string, string> {
  const cache = new Cache(cacheDir);
  const out: Record<string, string> = {};
  for (const n of s.nodes) if (n.key && !n.shared) out[n.id] = `${n.key}:${cache.readMeta(n.key)?.digest ?? 'no entry'}`;
  return out;
}

/**
 * What a local build of paper --profile quick gives: CI's `npm run reproduce` builds it twice
 * already and leaves build a's keys and digests in $PIPELINE_PAPER_QUICK_DIGESTS; without it, a
 * local build here, in another cache folder of the same project.
 */
function localPaperQuick(dir: string): Record<string, string> {
  const given = process.env.PIPELINE_PAPER_QUICK_DIGESTS;
  if (given && existsSync(given)) return JSON.parse(readFileSync(given, 'utf8')) as Record<string, string>;
  const r = cli(dir, ['run', 'paper', '--profile', 'quick', '--json', '--cache-dir', join(dir, 'local-cache')]);
  if (r.code !== 0) throw new Error(`local paper --profile quick failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  return keysAndDigests(JSON.parse(r.stdout) as RunSummary, join(dir, 'local-cache'));
}

test('the run summary counts where nodes ran per Slurm node; a local run says nothing', () => {
  const ran = (id: string, node?: string): Node => ({ id, stage: 's', status: 'ran', ...(node ? { executor: { name: 'slurm', node } } : {}) });
  assert.is(placement([ran('a', 'n2'), ran('b', 'n10'), ran('c', 'n2'), ran('d'), ran('e', 'n1'), { id: 'f', stage: 's', status: 'cached' }]), 'ran on n1: 1, n2: 2, n10: 1, here: 1');
  assert.is(placement([ran('a'), ran('b')]), undefined);
});

test('paper --profile quick over 3 Slurm nodes: tasks on several nodes, keys and digests of a local build', () => {
  if (!cluster) return;
  const dir = makeProject({});
  cpSync(join(PACKAGE_ROOT, 'configs'), join(dir, 'configs'), { recursive: true });
  const t0 = Date.now();
  const r = cli(dir, ['run', 'paper', '--profile', 'quick', '--json', '--executor', 'slurm'], cluster.env);
  const seconds = (Date.now() - t0) / 1000;
  assert.is(r.code, 0, r.stderr.slice(-3000));
  const s = JSON.parse(r.stdout) as RunSummary;
  assert.is(s.failed, 0);
  const onSlurm = s.nodes.filter((n) => n.status === 'ran' && n.executor?.name === 'slurm');
  assert.ok(onSlurm.length > 0, 'some nodes ran in Slurm jobs');
  for (const n of onSlurm) {
    assert.ok(cluster.nodes.includes(n.executor!.node ?? ''), `${n.id} names the Slurm node it ran on (got ${n.executor!.node})`);
    // In a namespace the job's host name is its node's: os.hostname() agrees with SLURMD_NODENAME.
    if (cluster.namespaces) assert.is(n.executor!.host, n.executor!.node, `${n.id}: host name in its node's namespace`);
  }
  const used = new Set(onSlurm.map((n) => n.executor!.node));
  assert.ok(used.size >= 2, `tasks landed on ${[...used].join(', ')} only`);
  // What CI's log shows: the node each array task ran on.
  const taskNode = new Map<string, string>();
  for (const n of onSlurm) taskNode.set(n.executor!.job!, n.executor!.node!);
  const tasks = [...taskNode].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([job, node]) => `${job}@${node}`);
  console.log(`  paper --profile quick over ${cluster.nodes.length} Slurm nodes (namespaces: ${cluster.namespaces ? 'yes' : 'no'}): ${seconds.toFixed(1)} s, ${s.ran} nodes ran; ${placement(s.nodes)}`);
  console.log(`  array tasks and their nodes: ${tasks.join(' ')}`);
  // show <node> gives the same record from the entry's meta.
  const shown = JSON.parse(cli(dir, ['show', onSlurm[0].id, '--json']).stdout) as { executor?: { node?: string } };
  assert.is(shown.executor?.node, onSlurm[0].executor!.node);

  const local = localPaperQuick(dir);
  const slurm = keysAndDigests(s, join(dir, 'cache'));
  assert.is(Object.keys(slurm).length, Object.keys(local).length, 'as many nodes as the local build');
  const differ = Object.keys(local).filter((id) => slurm[id] !== local[id]);
  assert.equal(differ, [], `${differ.length} nodes differ from the local build`);
});

test('a crashed node: its nodes fail with their Slurm state, the others finish; a rerun on the nodes left completes them with the digests of a local build', async () => {
  if (!cluster) return;
  const dir = makeProject({ ...TOY_STAGES, 'configs/slow.yml': slowConfig(6, 8000, true) });
  // A crashed task's key locks name its (namespace) host: another host may take them over once
  // they go this long without a heartbeat.
  const env = { ...cluster.env, PIPELINE_LEASE_SECONDS: '15' };
  const child = cliAsync(dir, ['run', 'slow', '--json', '--executor', 'slurm', '--slurm-nodes-per-job', '1'], env);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const victim = cluster.nodes[1];
  // A wait node (8 s) runs on the victim once the sources are done: crash it then.
  await waitFor(() => hasWaitOn(dir, victim), 90_000, `a wait task running on ${victim}`);
  cluster.crash(victim);
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? -1)));
  assert.is(code, 1);
  const s = JSON.parse(out) as RunSummary;
  const failed = s.nodes.filter((n) => n.status === 'failed');
  assert.ok(failed.length >= 1, 'the crashed node had nodes in flight');
  for (const n of failed) {
    assert.is(n.executor?.node, victim, `${n.id} ran on ${victim}`);
    assert.is(n.executor?.state, 'NODE_FAIL', `${n.id}: ${n.error}`);
    assert.match(n.error ?? '', new RegExp(`on node ${victim} ended in state NODE_FAIL`));
  }
  // The other nodes finished: only what needs a failed node was skipped (the total at least).
  const waitsRan = s.nodes.filter((n) => n.stage === 'wait' && n.status === 'ran');
  assert.ok(waitsRan.length >= 1, 'wait nodes on the other nodes finished');
  // (sources may have run on the victim before it crashed; the wait nodes there were cut short)
  assert.ok(waitsRan.every((n) => n.executor?.node && n.executor.node !== victim));
  assert.is(s.ran + s.cached + s.failed + s.skipped, 13);
  console.log(`  crashed ${victim}: ${failed.map((n) => `${n.id} ${n.executor?.state} (job ${n.executor?.job})`).join(', ')}; ${placement(s.nodes)}`);

  // The rerun, with the victim still down: Slurm places its tasks on the nodes left.
  const again = cli(dir, ['run', 'slow', '--json', '--executor', 'slurm', '--slurm-nodes-per-job', '1'], env);
  assert.is(again.code, 0, again.stderr);
  const s2 = JSON.parse(again.stdout) as RunSummary;
  assert.is(s2.failed, 0);
  assert.is(s2.ran, s.failed + s.skipped, 'the failed nodes and those that waited for them');
  assert.ok(s2.nodes.filter((n) => n.status === 'ran').every((n) => n.executor?.node && n.executor.node !== victim));
  const local = cli(dir, ['run', 'slow', '--json', '--jobs', '6', '--cache-dir', join(dir, 'local-cache')]);
  assert.is(local.code, 0, local.stderr);
  assert.equal(keysAndDigests(s2, join(dir, 'cache')), keysAndDigests(JSON.parse(local.stdout) as RunSummary, join(dir, 'local-cache')));

  // up.sh brings the crashed node back (ReturnToService=2 once its slurmd registers).
  cluster.up();
  const states = nodeStates(cluster.env);
  assert.ok(/^(idle|mixed|allocated)$/.test(states[victim] ?? ''), `${victim} is back: ${JSON.stringify(states)}`);
});

/** A task of the run holding a wait node runs on `node` (its job file says which nodes a task has). */
function hasWaitOn(dir: string, node: string): boolean {
  const rows = squeue(cluster!.env, ['--noheader', '--states=RUNNING', `--nodelist=${node}`, '-r', '--format=%K|%k']).split('\n').filter((l) => l.includes(dir));
  return rows.some((l) => {
    const [index, file] = l.split('|');
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { tasks: { stage: string }[][] };
      return doc.tasks[Number(index)]?.some((n) => n.stage === 'wait') ?? false;
    } catch {
      return false;
    }
  });
}

test.run();
