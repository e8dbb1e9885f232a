// @linalg-dependent: results go through numerics/backend.ts; test/run.mjs reruns this file on `ort` where OpenBLAS is the default.
/** The EoS figures through the CLI on a small sweep: reports, no-op rerun, and what `sig2` invalidates. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProject, PACKAGE_ROOT, ranPerStage, runJson } from '../helpers/project.ts';

const copy = (name: string) => readFileSync(join(PACKAGE_ROOT, 'configs', name), 'utf8');
// fig5 on a tiny sweep with a short schedule: the same stages, seconds instead of minutes.
const tiny = `extends: fig5.yml
vars:
  schedule: [100000, 10000, 1000, 500]
  h: 20
  epochs: 30
sweep:
  N: [64]
  d0: [2, 8]
  repeat: 2
stages:
  adaptive:
    params:
      schedule: \${schedule}
  adaptive_compat:
    params:
      schedule: \${schedule}
`;
const dir = makeProject({ 'configs/fig2.yml': copy('fig2.yml'), 'configs/fig1.yml': copy('fig1.yml'), 'configs/fig5.yml': copy('fig5.yml'), 'configs/fig7.yml': copy('fig7.yml'), 'configs/tiny5.yml': tiny });
const run = (target: string, ...args: string[]) => runJson(dir, target, ...args);
const ran = ranPerStage;

test('fig5 on a small sweep: adaptive and compat beside the NNGP; a rerun is a no-op', () => {
  const s = run('tiny5');
  assert.is(s.failed, 0);
  assert.is(ran(s).adaptive, 4);
  const results = JSON.parse(readFileSync(join(dir, 'reports', 'tiny5', 'results.json'), 'utf8'));
  assert.equal([...new Set(results.rows.map((r: { model: string }) => r.model))].sort(), ['adaptive', 'adaptive_compat', 'fcn', 'nngp']);
  assert.ok(results.rows.every((r: { failed: number; log10_nc1_mean: number }) => r.failed === 0 && Number.isFinite(r.log10_nc1_mean)));
  assert.is(run('tiny5').ran, 0);
});

test('changing sig2 recomputes only the EoS nodes and what depends on them', () => {
  const s = run('tiny5', '--set', 'stages.adaptive.params.sig2=1e-5');
  assert.equal(ran(s), { adaptive: 4, summary: 1, nc1_plot: 1, relative_plot: 1, report: 1 });
});

test('fig7 quick: per-step table, heatmaps and spectrum', () => {
  const s = run('fig7', '--profile', 'quick');
  assert.is(s.failed, 0);
  const md = readFileSync(join(dir, 'reports', 'fig7', 'README.md'), 'utf8');
  assert.match(md, '## Per annealing step');
  assert.match(md, 'Every annealing step converged.');
  for (const f of ['q1_nngp.svg', 'q1_change.svg', 'sigma_spectrum.svg', 'traces.svg']) assert.match(readFileSync(join(dir, 'reports', 'fig7', f), 'utf8'), /^<svg/);
  const results = JSON.parse(readFileSync(join(dir, 'reports', 'fig7', 'results.json'), 'utf8'));
  assert.is(results.steps.length, 25);
});

test.run();
