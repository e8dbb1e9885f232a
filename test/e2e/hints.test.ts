/**
 * Hints are never truth (issue 18): refs/<target>.last.json is a hint for the no-op fast path.
 * Damaged (every digest zeroed, one downstream row dropped), a run must still give every node the
 * key and digest of a clean build, and publish the same bytes.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Cache } from '../../engine/cache.ts';
import { makeProject, PACKAGE_ROOT, run } from '../helpers/project.ts';

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

test.run();
