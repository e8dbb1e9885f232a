/**
 * Stories of the cache under faults: locks whose holders are gone or foreign, damaged entries,
 * removal that is never half done, gc beside a build, folders that are not caches.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Cache } from '../../engine/store/cache.ts';
import { cleanCommand, gcCommand, verifyCommand } from '../../engine/commands.ts';
import { ownerTag, processStartTime, self } from '../../engine/store/owner.ts';
import { BUILD_DIR, cli, cliAsync, cliRun, makeProject, slowConfig, PACKAGE_ROOT, ranPerStage, run, TOY_CONFIG, TOY_STAGES } from '../helpers/project.ts';

const fresh = (extra: Record<string, string> = {}) => makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG, ...extra });
const cacheOf = (dir: string) => new Cache(join(dir, 'cache'));
const session = (dir: string) => ({ packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir });

/** The key of a node in the last run of a target. */
function keyOf(dir: string, target: string, id: string): string {
  return cacheOf(dir).readLastRun(target).get(id)!.key;
}

test('a lock held in the name of a live process that is not its holder (reused pid) is taken over at once', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  const key = keyOf(dir, 'toy', 'source[n=1,repeat=0]');
  cacheOf(dir).remove(key);
  // pid 1 is alive in every container, but it did not start at this start time.
  const me = self();
  mkdirSync(join(dir, 'cache', 'locks'), { recursive: true });
  writeFileSync(join(dir, 'cache', 'locks', key), JSON.stringify({ ...me, pid: 1, start: '12345', role: 'lock', since: 'then' }));
  const t0 = Date.now();
  const s = await run(dir, 'toy');
  assert.ok(Date.now() - t0 < 5000, 'no wait');
  assert.equal(ranPerStage(s), { source: 1 });
});

test('a lock refreshed by a live holder on another host is waited for while other nodes go on; a silent one is taken over after the lease', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  const c = cacheOf(dir);
  const locked = keyOf(dir, 'toy', 'source[n=1,repeat=0]');
  const other = keyOf(dir, 'toy', 'source[n=2,repeat=0]');
  c.remove(locked);
  c.remove(other);
  mkdirSync(join(dir, 'cache', 'locks'), { recursive: true });
  const lockFile = join(dir, 'cache', 'locks', locked);
  writeFileSync(lockFile, JSON.stringify({ host: 'elsewhere', boot: 'b', pid: 42, start: '7', role: 'lock', since: 'now', what: 'source[n=1,repeat=0]' }));
  // The test refreshes the foreign lease until the other node is done, then stops: with a 2 s
  // lease the run takes the lock over.
  const child = cliAsync(dir, ['run', 'toy', '--json'], { PIPELINE_LEASE_SECONDS: '2' });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  // While the foreign lock is fresh, the other node is computed (the run went on without it).
  const deadline = Date.now() + 20_000;
  while (!c.hasEntry(other) && Date.now() < deadline) {
    utimesSync(lockFile, new Date(), new Date());
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(c.hasEntry(other), 'other nodes went on');
  assert.not.ok(c.hasEntry(locked), 'the locked node waits');
  const code = await new Promise<number>((r) => child.once('exit', (x) => r(x ?? -1)));
  assert.is(code, 0, err);
  const s = JSON.parse(out);
  assert.equal(ranPerStage(s), { source: 2 });
  assert.ok(c.hasEntry(locked));
});

test('a bit flipped in a cached input is found before use: the entry is recomputed and nothing is filed from the damaged bytes', async () => {
  const dir = fresh();
  const clean = await run(dir, 'toy');
  const src = 'source[n=3,repeat=1]';
  const key = keyOf(dir, 'toy', src);
  const file = join(cacheOf(dir).entryDir(key), 'value.json');
  const text = readFileSync(file, 'utf8');
  // Same size, other digits: a stat cannot see it, a hash must.
  writeFileSync(file, text.replace('31', '39'));
  // Downstream entries gone: the next run reads the damaged source.
  for (const n of clean.nodes) if (n.stage !== 'source') cacheOf(dir).remove(n.key!);
  const again = await run(dir, 'toy');
  assert.equal(ranPerStage(again), { source: 1, scale: 6, total: 1 });
  const keys = (s: typeof clean) => s.nodes.map((n) => `${n.id}=${n.key}`).sort();
  assert.equal(keys(again), keys(clean));
  assert.ok(readFileSync(file, 'utf8').includes('31'));
});

test('a meta naming an output outside its entry is not trusted: verify calls it corrupt, the node is recomputed, nothing is written outside', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  const key = keyOf(dir, 'toy', 'total');
  const metaFile = join(cacheOf(dir).entryDir(key), 'meta.json');
  const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
  meta.outputs['../../../poison-src'] = meta.outputs['value.json'];
  writeFileSync(metaFile, JSON.stringify(meta));
  assert.is(cacheOf(dir).readMeta(key), undefined);
  const v = await verifyCommand(session(dir));
  assert.equal(v.corrupt.map((c) => c.key), [key]);
  const s = await run(dir, 'toy');
  assert.equal(ranPerStage(s), { total: 1 });
  assert.not.ok(existsSync(join(dir, '..', 'poison-src')));
});

test('removal renames first: a kill between rename and delete leaves no half entry in objects/, and the next run sweeps the trash', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  const c = cacheOf(dir);
  const key = keyOf(dir, 'toy', 'total');
  // What a gc killed after its rename leaves: the entry in trash/ under a dead owner.
  mkdirSync(join(dir, 'cache', 'trash'), { recursive: true });
  const dead = ownerTag({ ...self(), pid: 999_999, start: '1' });
  const { renameSync } = await import('node:fs');
  renameSync(c.entryDir(key), join(dir, 'cache', 'trash', `${dead}.0`));
  assert.not.ok(existsSync(c.entryDir(key)));
  const s = await run(dir, 'toy');
  assert.equal(ranPerStage(s), { total: 1 });
  assert.equal(readdirSync(join(dir, 'cache', 'trash')), []);
});

test('gc refuses while a build uses the cache, and a build waits while gc runs', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  const c = cacheOf(dir);
  // A live build of another host (its lease is fresh).
  mkdirSync(join(dir, 'cache', 'runs'), { recursive: true });
  const lease = join(dir, 'cache', 'runs', 'elsewhere~b~42~7.json');
  writeFileSync(lease, JSON.stringify({ host: 'elsewhere', boot: 'b', pid: 42, start: '7', role: 'run', since: 'now', what: 'toy' }));
  assert.throws(() => gcCommand({ ...session(dir), keepLast: 0 }), /in use \(run pid 42 on elsewhere/);
  assert.equal([...c.keys()].length, 13);
  // The same lease as a gc: a run waits until it is gone.
  writeFileSync(lease, JSON.stringify({ host: 'elsewhere', boot: 'b', pid: 42, start: '7', role: 'gc', since: 'now' }));
  let finished = false;
  const p = run(dir, 'toy').then((s) => ((finished = true), s));
  await new Promise((r) => setTimeout(r, 600));
  assert.not.ok(finished, 'the run waits for gc');
  const { rmSync } = await import('node:fs');
  rmSync(lease);
  const s = await p;
  assert.is(s.cached, 13);
});

test('clean and gc refuse a folder that is not a cache', () => {
  const dir = fresh();
  const notCache = join(dir, 'precious');
  mkdirSync(notCache);
  writeFileSync(join(notCache, 'thesis.tex'), 'do not delete');
  assert.throws(() => cleanCommand({ ...session(dir), cacheDir: notCache }), /not a pipeline cache/);
  assert.throws(() => gcCommand({ ...session(dir), cacheDir: notCache }), /not a pipeline cache/);
  assert.ok(existsSync(join(notCache, 'thesis.tex')));
});

test('a process start time identifies a live process (and differs for another pid)', () => {
  assert.ok(processStartTime(process.pid));
  assert.is(processStartTime(process.pid), self().start);
  assert.is(processStartTime(2 ** 30), undefined);
});

test('two local runs on one cache split the work: each runs some nodes, none runs twice', async () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/slow.yml': slowConfig(4, 1500) });
  const once = () => cliRun(dir, ['run', 'slow', '--json', '--jobs', '1']);
  const [a, b] = await Promise.all([once(), once()]);
  assert.is(a.code, 0);
  assert.is(b.code, 0);
  const ra = ranPerStage(JSON.parse(a.out)).wait ?? 0;
  const rb = ranPerStage(JSON.parse(b.out)).wait ?? 0;
  assert.is(ra + rb, 4);
  assert.ok(ra >= 1 && rb >= 1, `both runs computed some: ${ra} and ${rb}`);
  const r = cli(dir, ['run', 'slow', '--json']);
  assert.is(JSON.parse(r.stdout).ran, 0);
});

test.run();
