import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { anderson } from '../../numerics/anderson.ts';

// F(x) = x − G(x) for an affine map G(x) = M x + b with a weak contraction (ρ = 0.95): plain
// fixed-point steps would need ~400 evaluations for 1e-9; Anderson needs a handful.
const M = [
  [0.95, 0.01, 0],
  [0, 0.5, 0.2],
  [0.1, 0, -0.3],
];
const b = [1, -2, 0.5];
const F = (x: Float64Array) => x.map((v, i) => v - (M[i][0] * x[0] + M[i][1] * x[1] + M[i][2] * x[2] + b[i]));

test('a weak affine contraction: converges to the fixed point in few evaluations, with F(x) measured at the returned x', () => {
  const r = anderson(F, new Float64Array(3), { fTol: 1e-9, maxEvaluations: 50, m: 3 });
  assert.ok(r.converged, JSON.stringify(r));
  assert.ok(r.evaluations <= 10, `${r.evaluations} evaluations`);
  assert.ok(Math.max(...F(r.x).map(Math.abs)) <= 1e-9);
  assert.is(r.residualMax, Math.max(...r.f.map(Math.abs)));
});

test('a start already within f_tol still takes one step (scipy newton_krylov stopping rule)', () => {
  const root = anderson(F, new Float64Array(3), { fTol: 1e-12, maxEvaluations: 50 }).x;
  const r = anderson(F, root, { fTol: 1e-3, maxEvaluations: 50 });
  assert.is(r.steps, 1);
  assert.is(r.evaluations, 2);
});

test('an expanding map is reported as diverged, a budget as used up: results, never exceptions', () => {
  const grow = (x: Float64Array) => x.map((v) => v - (3 * v + 1));
  const d = anderson(grow, Float64Array.from([1]), { fTol: 1e-9, maxEvaluations: 100, m: 0 });
  assert.is(d.converged, false);
  assert.is(d.stopped, 'diverged');
  const slow = anderson(F, new Float64Array(3), { fTol: 1e-14, maxEvaluations: 3 });
  assert.is(slow.converged, false);
  assert.is(slow.stopped, 'budget');
  assert.is(slow.evaluations, 3);
});

test('an F that throws at an iterate ends the iteration as failed, keeping the last good point', () => {
  let calls = 0;
  const fragile = (x: Float64Array) => {
    if (++calls > 2) throw new RangeError('matrix is not symmetric positive definite');
    return F(x);
  };
  const r = anderson(fragile, new Float64Array(3), { fTol: 1e-12, maxEvaluations: 50 });
  assert.is(r.stopped, 'failed');
  assert.is(r.converged, false);
  assert.ok(r.x.every(Number.isFinite));
});

test.run();
