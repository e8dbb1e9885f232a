/**
 * The slurm executor against a real one-node Slurm cluster: the same keys and bytes as a local
 * build, a handful of sbatch calls, failures with their Slurm state, a killed driver whose jobs
 * a restarted run adopts instead of submitting them again.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Cache } from '../../engine/store/cache.ts';
import { cli, cliAsync, makeProject, ranPerStage, slowConfig, TOY_CONFIG, TOY_STAGES, waitFor } from '../helpers/project.ts';
import { scancel, slurmEnv, squeue } from '../helpers/slurm.ts';

const found = slurmEnv();
const env = found ?? {};
/** Without a cluster (not root, Slurm not installed) the tests are skipped, and counted as skipped. */
const slurmTest = found ? test : test.skip;

/** Every job file the slurm executor wrote in a cache, with the keys of each task. */
function jobFiles(dir: string): { file: string; keys: string[] }[] {
  const root = join(dir, 'cache', 'jobs');
  const out: { file: string; keys: string[] }[] = [];
  let runs: string[] = [];
  try {
    runs = readdirSync(root);
  } catch {
    return out;
  }
  for (const run of runs) {
    for (const f of readdirSync(join(root, run))) {
      if (!/^\d+\.json$/.test(f)) continue;
      const doc = JSON.parse(readFileSync(join(root, run, f), 'utf8')) as { tasks: { key: string }[][] };
      out.push({ file: join(root, run, f), keys: doc.tasks.flat().map((n) => n.key) });
    }
  }
  return out;
}

const digests = (dir: string, cacheDir = join(dir, 'cache')) => {
  const c = new Cache(cacheDir);
  return [...c.readLastRun('toy')].map(([id, v]) => `${id}=${v.key}:${v.digest}`).sort();
};

slurmTest('a slurm build gives the keys and output digests of a local build, in a handful of sbatch calls', () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG });
  const r = cli(dir, ['run', 'toy', '--json', '--executor', 'slurm'], env);
  assert.is(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.is(s.ran, 13);
  assert.ok(s.nodes.every((n: { executor?: { name: string; job?: string } }) => n.executor?.name === 'slurm' && /^\d+_\d+$/.test(n.executor.job ?? '')));
  const local = cli(dir, ['run', 'toy', '--json', '--cache-dir', join(dir, 'local-cache')]);
  assert.is(local.code, 0, local.stderr);
  assert.equal(digests(dir), digests(dir, join(dir, 'local-cache')));
  // Three waves (sources, scales, the sum): a few arrays, not 13 jobs.
  const files = jobFiles(dir);
  assert.ok(files.length >= 3 && files.length <= 6, `${files.length} sbatch calls`);
  const again = cli(dir, ['run', 'toy', '--json', '--executor', 'slurm'], env);
  assert.is(JSON.parse(again.stdout).cached, 13);
  assert.is(jobFiles(dir).length, files.length, 'a no-op submits nothing');
});

slurmTest('a stage that fails in a job is a failed node with its message and the job log', () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/b.yml': 'stages:\n  source:\n    stage: source\n    params: { n: 1 }\n  bad:\n    stage: boom\n    inputs: { x: source }\n' });
  const r = cli(dir, ['run', 'b', '--json', '--executor', 'slurm'], env);
  assert.is(r.code, 1);
  const bad = JSON.parse(r.stdout).nodes.find((n: { stage: string }) => n.stage === 'bad');
  assert.is(bad.status, 'failed');
  assert.match(bad.error, /boom: deliberate failure/);
  assert.match(bad.error, /slurm job \d+_\d+ on node \S+; log: /);
  assert.ok(bad.executor?.node, 'the failed node names the Slurm node its job ran on');
});

slurmTest('a scancelled job fails its nodes with the state CANCELLED; a rerun completes them', async () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/slow.yml': slowConfig(2, 30_000) });
  const child = cliAsync(dir, ['run', 'slow', '--json', '--executor', 'slurm', '--slurm-nodes-per-job', '1'], env);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const running = () => squeue(env, ['--noheader', '--states=RUNNING', '--format=%i|%k']).split('\n').filter((l) => l.includes(dir));
  await waitFor(() => running().length >= 1, 60_000, 'a running job');
  const ids = running().map((l) => l.split('|')[0]);
  scancel(env, ids);
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? -1)));
  assert.is(code, 1);
  const failed = JSON.parse(out).nodes.filter((n: { status: string }) => n.status === 'failed');
  assert.ok(failed.length >= 1);
  for (const n of failed) assert.match(n.error, /state CANCELLED/);
  const fast = cli(dir, ['run', 'slow', '--json', '--executor', 'slurm', '--set', 'stages.wait.params.ms=10'], env);
  assert.is(fast.code, 0, fast.stderr);
});

slurmTest('a driver killed mid-run: the rerun finds its queued and running jobs and submits none of their nodes again', async () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/slow.yml': slowConfig(2, 4000) });
  const child = cliAsync(dir, ['run', 'slow', '--json', '--executor', 'slurm', '--slurm-nodes-per-job', '1'], env);
  // Killed once the wait nodes are submitted (their jobs queued or running).
  await waitFor(() => new Set(jobFiles(dir).flatMap((f) => f.keys)).size >= 4, 60_000, 'the wait nodes submitted');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const r = cli(dir, ['run', 'slow', '--json', '--executor', 'slurm'], env);
  assert.is(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.is(s.failed, 0);
  // Submissions as Slurm knows them (a job file carries its path in --comment): a file the killed
  // driver wrote but never handed to sbatch is no submission.
  const submitted = new Set(squeue(env, ['--noheader', '--states=all', '--format=%k']).split('\n').map((l) => l.trim()));
  const seen = new Map<string, number>();
  for (const f of jobFiles(dir)) if (submitted.has(f.file)) for (const k of f.keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  assert.ok([...seen.values()].every((n) => n === 1), 'no node submitted twice');
  assert.equal(ranPerStage(s, 'failed'), {});
});

test.run();
