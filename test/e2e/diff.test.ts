/** `pipeline diff`: the last two runs of a target, or a variant, per cell; terminal table, JSON, Markdown + overlay. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, makeProject, PACKAGE_ROOT, runJson } from '../helpers/project.ts';
import { legendProblems } from '../helpers/svg-legends.ts';

const copy = (name: string) => readFileSync(join(PACKAGE_ROOT, 'configs', name), 'utf8');
const dir = makeProject({ 'configs/fig2.yml': copy('fig2.yml') });

test('with one build there is nothing to compare: the message says what to do', () => {
  runJson(dir, 'fig2', '--profile', 'quick');
  const r = cli(dir, ['diff', 'fig2', '--profile', 'quick']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /diff needs two: run it again after a change, or compare a variant: pipeline diff fig2 --set/);
});

test('a variant: built without publishing, compared cell by cell', () => {
  const r = cli(dir, ['diff', 'fig2', '--profile', 'quick', '--set', 'activation=relu', '--json']);
  assert.is(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout);
  assert.equal(d.diff.changed, { activation: ['erf', 'relu'] });
  assert.is(d.diff.cells.length, 10);
  const cell = d.diff.cells.find((c: any) => c.coords.N === 128 && c.coords.d0 === 1);
  const f = cell.fields.log10_nc1_mean;
  assert.ok(Math.abs(f.b - f.a - f.delta) < 1e-12 && f.delta > 0.5, JSON.stringify(f));
  // The published report is still the configured (erf) one.
  assert.ok(JSON.parse(readFileSync(join(dir, 'reports', 'fig2', 'results.json'), 'utf8')).rows.every((x: any) => x.activation === 'erf'));
  const md = readFileSync(join(dir, 'reports', 'diffs', 'fig2', 'README.md'), 'utf8');
  assert.match(md, 'Changed as a whole: `activation` erf → relu');
  assert.match(md, '![log10_nc1_mean: A solid, B dashed](./overlay.svg)');
  assert.equal(legendProblems(readFileSync(join(dir, 'reports', 'diffs', 'fig2', 'overlay.svg'), 'utf8')), []);
});

test('the last two runs, as a terminal table', () => {
  runJson(dir, 'fig2', '--profile', 'quick', '--set', 'std=0.8');
  const r = cli(dir, ['diff', 'fig2', '--profile', 'quick']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^A: previous run \(.*, quick\)\nB: last run \(.*, quick\)\n/);
  assert.match(r.stdout, /same in every cell: model nngp, activation erf\n/);
  assert.match(r.stdout, /\nN\s+d0\s+class_sizes\s+log10_nc1_mean A\s+log10_nc1_mean B\s+Δ/);
  assert.match(r.stdout, /log10_nc1_mean: changed in 10 of 10 cells/);
  assert.ok(existsSync(join(dir, 'reports', 'diffs', 'fig2', 'diff.json')));
});

test.run();
