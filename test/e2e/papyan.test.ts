/** The papyan target through the CLI on a tiny setting: six panels, no-op rerun, what `lr` invalidates. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, makeProject, PACKAGE_ROOT, ranPerStage, runJson } from '../helpers/project.ts';

const tiny = `extends: papyan.yml
vars:
  per_class: 12
  pool: 4
  hidden: [24]
  epochs: 12
  batch_size: 20
  checkpoint_every: 4
`;
const dir = makeProject({ 'configs/papyan.yml': readFileSync(join(PACKAGE_ROOT, 'configs', 'papyan.yml'), 'utf8'), 'configs/tinyp.yml': tiny });
const run = (...args: string[]) => runJson(dir, 'tinyp', ...args);

test('papyan on tiny nets: a report with six panels and NC metrics per checkpoint; a rerun is a no-op', () => {
  const s = run();
  assert.is(s.failed, 0);
  assert.equal(ranPerStage(s), { mnist_train: 1, mnist_test: 1, gmm_train: 1, gmm_test: 1, mnist_net: 1, gmm_net: 1, mnist_nc: 1, gmm_nc: 1, panels: 1, report: 1 });
  const out = join(dir, 'reports', 'tinyp');
  for (const f of ['equinorm.svg', 'equiangularity.svg', 'max-angle.svg', 'self-duality.svg', 'nc1.svg', 'ncc-mismatch.svg']) assert.ok(readFileSync(join(out, f), 'utf8').startsWith('<svg'), f);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.is(results.runs.length, 2);
  const mnist = results.runs[0];
  assert.is(mnist.label, 'MNIST');
  assert.is(mnist.end_epoch, 12);
  assert.ok(Number.isFinite(mnist.at_end.nc1) && mnist.at_end.nc1 > 0);
  assert.ok(readFileSync(join(out, 'README.md'), 'utf8').includes('## Findings'));
  // The index shows the figure results.json names (NC1), not the first SVG by name.
  assert.ok(readFileSync(join(dir, 'reports', 'README.md'), 'utf8').includes('tinyp/nc1.svg'));
  assert.is(run().ran, 0);
});

test('the same seed gives bitwise-identical classifiers and metrics (another cache, --force)', () => {
  const keys = (s: { nodes: { id: string; key?: string }[] }) => s.nodes.map((n) => `${n.id} ${n.key}`);
  // Equal keys downstream of the classifier nodes mean equal output digests of those nodes.
  assert.equal(keys(run('--cache-dir', join(dir, 'cache-a'))), keys(run('--cache-dir', join(dir, 'cache-b'), '--force')));
});

test('changing lr reruns training, metrics, panels and report; no data node', () => {
  const s = run('--set', 'lr=0.02');
  assert.equal(ranPerStage(s), { mnist_net: 1, gmm_net: 1, mnist_nc: 1, gmm_nc: 1, panels: 1, report: 1 });
  assert.ok(existsSync(join(dir, 'reports', 'tinyp', 'nc1.svg')));
});

test('asking for more images than the mnist package has is a config-time error naming the key', () => {
  const r = cli(dir, ['run', 'tinyp', '--set', 'per_class=900']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /per_class: digit 5 has 863 images/);
  assert.is(r.stderr.trim().split('\n').length, 1);
});

test.run();
