import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cellsOf, diffResults, fieldSummary } from '../../engine/report/results-diff.ts';

test('sweep rows: matched on coordinates; a coordinate changed as a whole is named once', () => {
  const rows = (activation: string, shift: number) => [
    { model: 'ntk', activation, N: 128, d0: 1, class_sizes: [64, 64], repeats: 2, log10_nc1_mean: -1.5 + shift },
    { model: 'ntk', activation, N: 128, d0: 8, class_sizes: [64, 64], repeats: 2, log10_nc1_mean: -0.7 + shift },
  ];
  const d = diffResults({ rows: rows('erf', 0) }, { rows: rows('relu', 0.5).reverse() });
  assert.equal(d.changed, { activation: ['erf', 'relu'] });
  assert.equal(d.fixed, { model: 'ntk', N: '128', class_sizes: '(64, 64)' });
  assert.equal(d.coordinates, ['d0']);
  assert.equal(d.cells.map((c) => [c.coords.d0, Number(c.fields.log10_nc1_mean.delta!.toFixed(12))]), [[1, 0.5], [8, 0.5]]);
  assert.equal(d.cells[0].fields.repeats, { a: 2, b: 2, delta: 0 });
  assert.equal(fieldSummary(d, ['log10_nc1_mean']), ['log10_nc1_mean: changed in 2 of 2 cells; mean change +0.5000, largest +0.5000']);
});

test('per-step records with nested fields; cells only one side has are counted', () => {
  const steps = (n: number, f: number) => Array.from({ length: n }, (_, i) => ({ step: i, Q1_nc1: { nc1: 0.1 * f - i / 100 }, converged: true }));
  const d = diffResults({ steps: steps(3, 1), stats: null }, { steps: steps(2, 2) });
  assert.equal(d.fields, ['Q1_nc1.nc1']);
  assert.is(d.cells.length, 2);
  assert.is(d.onlyA, 1);
  assert.ok(Math.abs(d.cells[1].fields['Q1_nc1.nc1'].delta! - 0.1) < 1e-12);
});

test('a one-run report (stats only) is one cell; failed values stay n/a', () => {
  assert.equal(cellsOf({ target: 'fig8', stats: { N: 1024, nc1: 0.1 } }), [{ N: 1024, nc1: 0.1 }]);
  const d = diffResults({ stats: { N: 1024, nc1: 0.1 } }, { stats: { N: 1024, nc1: null } });
  assert.equal(d.cells[0].fields.nc1, { a: 0.1, b: null, delta: null });
});

test.run();
