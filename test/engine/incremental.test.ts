/** Stories of what reruns after what change, counted in stage executions. */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILD_DIR, makeProject, PACKAGE_ROOT, plan, ranPerStage, run, TOY_CONFIG, TOY_STAGES } from '../helpers/project.ts';

const fresh = () => makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG });

test('the first run computes every node; the second computes none', async () => {
  const dir = fresh();
  const first = await run(dir, 'toy');
  assert.equal(ranPerStage(first), { source: 6, scale: 6, total: 1 });
  const second = await run(dir, 'toy');
  assert.equal(ranPerStage(second), {});
  assert.is(second.cached, 13);
});

test('the numbers are right: total = factor * sum(10 n + seed)', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  const { nodes } = await run(dir, 'toy');
  assert.ok(nodes.every((n) => n.status === 'cached'));
  const expected = 2 * [1, 2, 3].reduce((s, n) => s + (10 * n + 0) + (10 * n + 1), 0);
  const { showCommand } = await import('../../engine/commands.ts');
  const meta = (await showCommand('total', { packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir })) as { dir: string };
  assert.is(JSON.parse(readFileSync(join(meta.dir, 'value.json'), 'utf8')).v, expected);
});

test('two stages that resolve to the same node: one computation, both ids in the summary', async () => {
  const twin = TOY_CONFIG.replace('  total:', '  scale_again:\n    stage: scale\n    inputs:\n      x: source\n    params:\n      factor: ${factor}\n  total:');
  const dir = makeProject({ ...TOY_STAGES, 'configs/toy.yml': twin });
  const s = await run(dir, 'toy');
  assert.equal(ranPerStage(s), { source: 6, scale: 6, total: 1, scale_again: 6 });
  assert.is(s.ran, 13);
  const again = s.nodes.filter((n) => n.stage === 'scale_again');
  assert.is(again.length, 6);
  for (const n of again) {
    const twinOf = s.nodes.find((m) => m.id === n.shared)!;
    assert.is(twinOf.stage, 'scale');
    assert.is(n.key, twinOf.key);
    assert.is(n.id, twinOf.id.replace('scale', 'scale_again'));
  }
});

test('change factor -> scale and total rerun, source does not; plan says why', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  const p = await plan(dir, 'toy', { set: ['factor=3'] });
  const scaleNode = p.nodes.find((n) => n.stage === 'scale')!;
  assert.equal(scaleNode.changed, ['params.factor: 2 -> 3']);
  const s = await run(dir, 'toy', { set: ['factor=3'] });
  assert.equal(ranPerStage(s), { scale: 6, total: 1 });
});

test('extend a sweep -> only the new cells (and the gather) run', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  const s = await run(dir, 'toy', { set: ['n=[1, 2, 3, 4]'] });
  assert.equal(ranPerStage(s), { source: 2, scale: 2, total: 1 });
});

test("edit a stage's code -> that stage's nodes and their dependants rerun; plan names the file", async () => {
  const dir = fresh();
  await run(dir, 'toy');
  const file = join(dir, 'stages/scale.ts');
  writeFileSync(file, readFileSync(file, 'utf8').replace('* params.factor', '* params.factor + 1'));
  const p = await plan(dir, 'toy');
  assert.equal(p.nodes.find((n) => n.stage === 'scale')!.changed, ['code: stages/scale.ts']);
  assert.equal(ranPerStage(await run(dir, 'toy')), { scale: 6, total: 1 });
});

test('an upstream rerun that yields identical bytes reruns nothing downstream (early cutoff)', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  appendFileSync(join(dir, 'stages/source.ts'), 'export const unused = 1;\n'); // new code, same output
  assert.equal(ranPerStage(await run(dir, 'toy')), { source: 6 });
});

test('--force reruns everything; outputs are byte-identical (determinism)', async () => {
  const dir = fresh();
  const a = await run(dir, 'toy');
  const b = await run(dir, 'toy', { force: true });
  assert.equal(ranPerStage(b), { source: 6, scale: 6, total: 1 });
  assert.equal(a.nodes.map((n) => n.key), b.nodes.map((n) => n.key));
});

test('a failed node skips its dependants; independent nodes still run; the run reports it', async () => {
  const dir = makeProject({
    ...TOY_STAGES,
    'configs/f.yml': `sweep:
  n: [1, 2]
stages:
  source:
    stage: source
    params: { n: "\${n}" }
  bad:
    stage: boom
    inputs: { x: source }
  after_bad:
    stage: scale
    inputs: { x: bad }
    params: { factor: 1 }
  fine:
    stage: scale
    inputs: { x: source }
    params: { factor: 2 }
`,
  });
  const s = await run(dir, 'f');
  assert.is(s.failed, 2);
  assert.is(s.skipped, 2);
  assert.equal(ranPerStage(s), { source: 2, fine: 2 });
  assert.match(s.nodes.find((n) => n.status === 'failed')!.error!, 'boom: deliberate failure');
  // Nothing of the failed nodes entered the cache: a second run retries exactly them.
  const again = await run(dir, 'f');
  assert.is(again.failed, 2);
  assert.equal(ranPerStage(again), {});
});

test.run();
