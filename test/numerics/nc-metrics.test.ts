/** Papyan's NC1–NC4 on constructed features whose values are known. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pinvSymmetric } from '../../numerics/jacobi.ts';
import { fromRows, matrix, type Matrix } from '../../numerics/matrix.ts';
import { papyanMetrics } from '../../numerics/nc-metrics.ts';
import { Rng } from '../../numerics/rng.ts';

const C = 4;
const d = 6;
const perClass = 5;
const sizes = Array(C).fill(perClass);

/** A simplex ETF (e_c − 1/C), scaled by 3 and rotated into d dimensions by a fixed random orthogonal map. */
function etf(): Float64Array {
  const rng = new Rng(7);
  // Gram–Schmidt on C random vectors in R^d gives C orthonormal rows Q.
  const Q = rng.fillNormal(new Float64Array(C * d));
  for (let a = 0; a < C; a++) {
    for (let b = 0; b < a; b++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += Q[a * d + t] * Q[b * d + t];
      for (let t = 0; t < d; t++) Q[a * d + t] -= s * Q[b * d + t];
    }
    let nrm = 0;
    for (let t = 0; t < d; t++) nrm += Q[a * d + t] ** 2;
    for (let t = 0; t < d; t++) Q[a * d + t] /= Math.sqrt(nrm);
  }
  const M = new Float64Array(C * d);
  for (let c = 0; c < C; c++) for (let k = 0; k < C; k++) for (let t = 0; t < d; t++) M[c * d + t] += 3 * ((c === k ? 1 : 0) - 1 / C) * Q[k * d + t];
  return M;
}

/** Every sample of class c at μ_G + M_c, plus optional noise. */
function features(M: Float64Array, noise = 0, shift = 1.5): Matrix {
  const H = matrix(C * perClass, d);
  const rng = new Rng(11);
  for (let i = 0; i < C * perClass; i++) {
    const c = Math.floor(i / perClass);
    for (let t = 0; t < d; t++) H.data[i * d + t] = shift + M[c * d + t] + noise * rng.normal();
  }
  return H;
}

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('a simplex ETF with no within-class scatter and a self-dual classifier: every metric is 0', () => {
  const M = etf();
  const W = matrix(C, d, M.map((v) => 2 * v));
  // b = −W μ_G: the classifier scores h − μ_G, as a trained bias learns to.
  const b = new Float64Array(C).map((_, c) => -1.5 * W.data.subarray(c * d, (c + 1) * d).reduce((s, v) => s + v, 0));
  const r = papyanMetrics(features(M), sizes, W, b);
  close(r.nc1, 0);
  close(r.equinorm_means, 0);
  close(r.equinorm_classifier, 0);
  close(r.equiangular_means, 0);
  close(r.equiangular_classifier, 0);
  close(r.max_angle_means, 0);
  close(r.max_angle_classifier, 0);
  close(r.self_duality, 0);
  assert.is(r.ncc_mismatch, 0);
});

test('an anti-dual classifier (W = −M): NC3 = 4 and every sample disagrees with its nearest mean', () => {
  const M = etf();
  const W = matrix(C, d, M.map((v) => -v));
  const b = new Float64Array(C).map((_, c) => -1.5 * W.data.subarray(c * d, (c + 1) * d).reduce((s, v) => s + v, 0));
  const r = papyanMetrics(features(M), sizes, W, b);
  close(r.self_duality, 4);
  assert.is(r.ncc_mismatch, 1);
  close(r.max_angle_classifier, 0); // cos(−a, −b) = cos(a, b): −M is still a simplex
});

test('known NC2 values: norms 1, 2, 3, 4 and orthogonal means', () => {
  // Class means along the axes with norms 1..4: centring moves them, so use W for NC2 instead.
  const W = matrix(C, d);
  for (let c = 0; c < C; c++) W.data[c * d + c] = c + 1;
  const r = papyanMetrics(features(etf()), sizes, W, new Float64Array(C));
  // norms 1, 2, 3, 4: mean 2.5, sample std √(5/3).
  close(r.equinorm_classifier, Math.sqrt(5 / 3) / 2.5);
  // orthogonal rows: every cosine is 0, so the std is 0 and |0 + 1/3| = 1/3.
  close(r.equiangular_classifier, 0);
  close(r.max_angle_classifier, 1 / 3);
});

test('NC1 matches Tr(Σ_W Σ_B⁺)/C formed explicitly with d x d matrices', () => {
  const M = etf();
  const H = features(M, 0.4);
  const r = papyanMetrics(H, sizes, matrix(C, d, M), new Float64Array(C));
  const n = C * perClass;
  const mu = Array.from({ length: C }, (_, c) => Array.from({ length: d }, (_, t) => {
    let s = 0;
    for (let i = c * perClass; i < (c + 1) * perClass; i++) s += H.data[i * d + t];
    return s / perClass;
  }));
  const g = Array.from({ length: d }, (_, t) => mu.reduce((s, m) => s + m[t], 0) / C);
  const SW = new Float64Array(d * d);
  const SB = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / perClass);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) SW[a * d + b] += ((H.data[i * d + a] - mu[c][a]) * (H.data[i * d + b] - mu[c][b])) / n;
  }
  for (let c = 0; c < C; c++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) SB[a * d + b] += ((mu[c][a] - g[a]) * (mu[c][b] - g[b])) / C;
  const SBp = pinvSymmetric(SB, d);
  let tr = 0;
  for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) tr += SW[a * d + b] * SBp[b * d + a];
  assert.ok(r.nc1 > 0.01);
  close(r.nc1, tr / C, 1e-10 * (tr / C));
  // Noise breaks NC2 and NC4 only a little, and each metric moves off 0.
  assert.ok(r.equinorm_means > 0 && r.equiangular_means > 0 && r.max_angle_means > 0);
});

test('bad shapes are errors that say what was expected', () => {
  const H = fromRows([[1, 0], [0, 1], [1, 1]]);
  assert.throws(() => papyanMetrics(H, [1, 1, 1], matrix(2, 2), new Float64Array(2)), /expected 3x2/);
  assert.throws(() => papyanMetrics(fromRows([[1], [2]]), [1, 1], matrix(2, 1), new Float64Array(2)), /at least 3 classes/);
});

test.run();
