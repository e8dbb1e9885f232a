/** Crash safety and concurrency: a killed run leaves no half entry; two runs on one cache agree. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliAsync, cliRun, makeProject, slowConfig, TOY_STAGES, waitFor } from '../helpers/project.ts';

const entries = (dir: string) => {
  const root = join(dir, 'cache', 'objects');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)));
};

test('SIGKILL mid-node: no partial entry; the next run completes', async () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/slow.yml': slowConfig(2, 3000, true) });
  const child = cliAsync(dir, ['run', 'slow']);
  const staging = join(dir, 'cache', 'staging');
  // Wait until the slow nodes are running (their staging folders exist), then kill -9.
  await waitFor(() => existsSync(staging) && readdirSync(staging).length >= 1 && entries(dir).length === 2, 20_000);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // Only the two finished source nodes are in the store; each is complete (meta.json present).
  const done = entries(dir);
  assert.is(done.length, 2);
  for (const k of done) assert.ok(existsSync(join(dir, 'cache', 'objects', k.slice(0, 2), k, 'meta.json')));
  const r = cli(dir, ['run', 'slow', '--json']);
  assert.is(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal([s.ran, s.cached, s.failed], [3, 2, 0]);
  // The dead run's staging folders and locks were swept.
  assert.is(readdirSync(staging).length, 0);
});

test('two concurrent runs on one cache both succeed, share the work, and agree', async () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/slow.yml': slowConfig(2, 1500, true) });
  const runOnce = () => cliRun(dir, ['run', 'slow', '--json']);
  const [a, b] = await Promise.all([runOnce(), runOnce()]);
  assert.is(a.code, 0);
  assert.is(b.code, 0);
  const sa = JSON.parse(a.out);
  const sb = JSON.parse(b.out);
  // Each node was computed once in all: what one ran, the other found cached.
  assert.is(sa.ran + sb.ran, 5);
  const keys = (s: { nodes: { id: string; key: string }[] }) => s.nodes.map((n) => `${n.id}=${n.key}`).sort();
  assert.equal(keys(sa), keys(sb));
  const total = entries(dir).map((k) => JSON.parse(readFileSync(join(dir, 'cache', 'objects', k.slice(0, 2), k, 'meta.json'), 'utf8'))).find((m) => m.id === 'total');
  assert.ok(total);
});

test.run();
