/**
 * Hints are never truth (issue 18): refs/<target>.last.json is a hint for the no-op fast path.
 * Damaged (every digest zeroed, one downstream row dropped), a run must still give every node the
 * key and digest of a clean build, and publish the same bytes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Cache } from '../../engine/store/cache.ts';
import { cli, makeProject, PACKAGE_ROOT, run } from '../helpers/project.ts';

const copy = (name: string) => readFileSync(join(PACKAGE_ROOT, 'configs', name), 'utf8');
const dir = makeProject({ 'configs/fig2.yml': copy('fig2.yml'), 'configs/fig3.yml': copy('fig3.yml') });
const cache = new Cache(join(dir, 'cache'));
const lastFile = join(dir, 'cache', 'refs', 'fig3.last.json');

/** Node id -> "key digest" as the cache's entries say (meta.json, not the hint). */
function truth(nodes: { id: string; key?: string }[]): Map<string, string> {
  return new Map(nodes.filter((n) => !n.id.includes('~')).map((n) => [n.id, `${n.key} ${n.key ? cache.readMeta(n.key)?.digest : ''}`]));
}

const reportBytes = () => Object.fromEntries(readdirSync(join(dir, 'reports', 'fig3')).map((f) => [f, readFileSync(join(dir, 'reports', 'fig3', f), 'utf8')]));

test('a last-run record with zeroed digests and a dropped downstream row: 0 nodes differ from a clean build', async () => {
  const clean = await run(dir, 'fig3', { profile: 'quick' });
  assert.is(clean.failed, 0);
  const cleanTruth = truth(clean.nodes);
  const cleanReport = reportBytes();

  const doc = JSON.parse(readFileSync(lastFile, 'utf8')) as Record<string, string[]>;
  for (const row of Object.values(doc)) row[1] = '0'.repeat(64);
  const dropped = Object.keys(doc).find((id) => id.startsWith('ntk['))!;
  assert.ok(dropped, 'a downstream node to drop');
  delete doc[dropped];
  writeFileSync(lastFile, JSON.stringify(doc));

  const again = await run(dir, 'fig3', { profile: 'quick' });
  const now = truth(again.nodes);
  const differing = [...cleanTruth].filter(([id, v]) => now.get(id) !== v).map(([id]) => id);
  assert.equal(differing, [], `${differing.length} of ${cleanTruth.size} nodes differ from the clean build`);
  assert.is(again.ran, 0);
  assert.equal(reportBytes(), cleanReport);
  // The damaged record is replaced by a true one: the next no-op run trusts it again.
  const healed = JSON.parse(readFileSync(lastFile, 'utf8')) as Record<string, string[]>;
  assert.ok(dropped in healed);
  assert.ok(Object.values(healed).every((r) => r[1] !== '0'.repeat(64) && r[2]));
});

test('an entry recomputed behind the record (same key, new meta.json): the stamp no longer matches, meta is read', async () => {
  const doc = JSON.parse(readFileSync(lastFile, 'utf8')) as Record<string, string[]>;
  const [id, [key, digest, stamp]] = Object.entries(doc)[0];
  assert.is(cache.metaStamp(key, digest), stamp);
  // A different claimed digest for the same file: another stamp.
  assert.is.not(cache.metaStamp(key, '0'.repeat(64)), stamp);
  const metaPath = join(cache.entryDir(key), 'meta.json');
  writeFileSync(metaPath, readFileSync(metaPath));
  assert.is.not(cache.metaStamp(key, digest), stamp, id);
});

const leftovers = () => readdirSync(join(dir, 'reports')).filter((f) => f.startsWith('.'));

test('a fault while publishing leaves the old report and no staging folder; a dead process\'s leftovers go at the next publish', async () => {
  const before = reportBytes();
  // A dead publisher's folders (pid 2^22+1 is above Linux's pid_max default: never alive here).
  mkdirSync(join(dir, 'reports', '.staging-fig3-4194305'));
  mkdirSync(join(dir, 'reports', '.old-fig3-4194305'));
  // The report entry loses a file behind the record: publishing it fails mid-copy.
  const doc = JSON.parse(readFileSync(lastFile, 'utf8')) as Record<string, string[]>;
  const reportKey = doc.report[0];
  const meta = cache.readMeta(reportKey)!;
  const victim = Object.keys(meta.outputs).find((f) => f.endsWith('.svg'))!;
  const saved = readFileSync(join(cache.entryDir(reportKey), victim));
  rmSync(join(cache.entryDir(reportKey), victim));
  rmSync(join(dir, 'reports', 'fig3', '.report-key'));
  let failed = false;
  await run(dir, 'fig3', { profile: 'quick' }).catch(() => (failed = true));
  assert.ok(failed, 'publishing from a damaged entry fails');
  assert.equal(leftovers(), []);
  assert.ok(existsSync(join(dir, 'reports', 'fig3', 'README.md')), 'the old report stays');
  writeFileSync(join(cache.entryDir(reportKey), victim), saved);
  await run(dir, 'fig3', { profile: 'quick' });
  assert.equal(leftovers(), []);
  assert.equal(reportBytes(), before);
});

test('read-only commands pointed at a missing cache folder do not create it', () => {
  const missing = join(dir, 'no-cache-here');
  for (const args of [['verify', 'nosuchtarget'], ['verify', 'fig3'], ['verify'], ['plan', 'fig3', '--profile', 'quick'], ['show', 'fig3'], ['show', 'some/node'], ['diff', 'fig3']]) {
    cli(dir, [...args, '--cache-dir', missing]);
    assert.ok(!existsSync(missing), `${args.join(' ')} created ${missing}`);
  }
});

test.run();
