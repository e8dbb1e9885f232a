import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { andersonFixedPoint } from '../../numerics/anderson.ts';

const maxAbs = (v: Float64Array) => Math.max(...Array.from(v, Math.abs));

test('a linear contraction x = Mx + b: reaches f_tol in far fewer evaluations than plain iteration', () => {
  // Slow contraction (spectral radius 0.95): plain iteration needs ~ log(1e-10)/log(0.95) ≈ 450 steps.
  const n = 6;
  const G = (x: Float64Array) => Float64Array.from(x, (_, i) => 0.95 * x[i] * (i % 2 ? 1 : -1) * (1 - i / 20) + 0.01 * x[(i + 1) % n] + 1 + i);
  const r = andersonFixedPoint(G, new Float64Array(n), { fTol: 1e-10, maxEvaluations: 50, memory: n });
  assert.ok(r.converged);
  assert.ok(r.evaluations <= 2 * n + 2, `${r.evaluations} evaluations`);
  const g = G(r.x);
  assert.ok(maxAbs(r.x.map((v, i) => v - g[i])) <= 1e-10);
  // The returned residual is the evaluated one at the returned point, not an estimate.
  assert.ok(Math.abs(maxAbs(r.Fx) - r.residualMax) === 0);
});

test('a start already within f_tol costs exactly one evaluation (or none when its image is given)', () => {
  const G = (x: Float64Array) => x.map((v) => 0.5 * v + 1);
  const near = Float64Array.from([2 + 1e-9, 2 - 1e-9]);
  assert.is(andersonFixedPoint(G, near, { fTol: 1e-6, maxEvaluations: 10 }).evaluations, 1);
  const r = andersonFixedPoint(G, near, { fTol: 1e-6, maxEvaluations: 10 }, G(near));
  assert.is(r.evaluations, 0);
  assert.ok(r.converged);
});

test('no fixed point: not converged within the budget, a result with the best point seen, never an exception', () => {
  // x = x + 1 has none.
  const r = andersonFixedPoint((x) => x.map((v) => v + 1), Float64Array.from([0, 0]), { fTol: 1e-8, maxEvaluations: 7 });
  assert.is(r.converged, false);
  assert.ok(r.evaluations <= 7);
  assert.is(r.residualMax, 1);
});

test('a map that returns NaN stops the iteration with the best finite point', () => {
  let calls = 0;
  const r = andersonFixedPoint((x) => (++calls > 1 ? x.map(() => NaN) : x.map((v) => 0.5 * v + 1)), Float64Array.from([0]), { fTol: 1e-12, maxEvaluations: 10 });
  assert.is(r.converged, false);
  assert.is(r.residualMax, 1);
  assert.equal(Array.from(r.x), [0]);
});

test('a target below what rounding allows: once within acceptTol, only polishEvaluations more are spent', () => {
  const G = (x: Float64Array) => x.map((v, i) => Math.cos(v) * 0.7 + i * 0.1);
  const r = andersonFixedPoint(G, new Float64Array(5), { fTol: 1e-30, maxEvaluations: 40, acceptTol: 1e-6, polishEvaluations: 2 });
  assert.ok(r.residualMax <= 1e-6);
  const plain = andersonFixedPoint(G, new Float64Array(5), { fTol: 1e-6, maxEvaluations: 40 });
  assert.ok(r.evaluations <= plain.evaluations + 2 && r.evaluations < 40, `${r.evaluations} vs ${plain.evaluations}`);
});

test('deterministic: the same bits on a rerun', () => {
  const G = (x: Float64Array) => x.map((v, i) => Math.cos(v) * 0.7 + i * 0.1);
  const a = andersonFixedPoint(G, new Float64Array(5), { fTol: 1e-13, maxEvaluations: 40 });
  const b = andersonFixedPoint(G, new Float64Array(5), { fTol: 1e-13, maxEvaluations: 40 });
  assert.ok(a.converged);
  assert.equal(Array.from(a.x), Array.from(b.x));
});

test.run();
