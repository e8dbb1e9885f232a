// @linalg-dependent: results go through numerics/backend.ts; test/run.mjs reruns this file on `ort` where OpenBLAS is the default.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromRows, matrix } from '../../numerics/matrix.ts';
import { featureNC1, kernelNC1 } from '../../numerics/nc1.ts';
import { preactivationKernel } from '../../numerics/kernels.ts';
import { Rng } from '../../numerics/rng.ts';
import { loadReference, relErr } from '../helpers/reference.ts';

for (const file of ['kernels_erf_bal_N64_d2.json', 'kernels_relu_bal_N128_d8.json']) {
  test(`${file}: data NC1 matches the original code`, () => {
    const ref = loadReference(file);
    const X = fromRows(ref.X);
    const f = featureNC1(X, ref.settings.class_sizes);
    const e = ref.float64.data_nc1;
    assert.ok(relErr(f.trace_S_W_div_S_B, e.trace_S_W_div_S_B) < 1e-10);
    assert.ok(relErr(f.trace_S_W, e.trace_S_W) < 1e-10);
    assert.ok(relErr(f.trace_S_B, e.trace_S_B) < 1e-10);
    // The reference's "trace_S_W_pinv_S_B" is Papyan's Tr(S_W S_B⁺)/C.
    assert.ok(relErr(f.papyan_nc1, e.trace_S_W_pinv_S_B) < 1e-9, `${f.papyan_nc1} vs ${e.trace_S_W_pinv_S_B}`);
    const k = kernelNC1(preactivationKernel(X, 1, 0), ref.settings.class_sizes);
    assert.ok(relErr(k.nc1, ref.float64.data_kernel_nc1_XXt.nc1) < 1e-10);
  });
}

test('features collapsed onto their class means have NC1 = 0', () => {
  const H = fromRows([[1, 0], [1, 0], [0, 1], [0, 1], [-1, -1], [-1, -1]]);
  const f = featureNC1(H, [2, 2, 2]);
  assert.is(f.trace_S_W, 0);
  assert.is(f.papyan_nc1, 0);
  assert.ok(f.trace_S_B > 0);
});

test('kernel NC1 equals Tr S_W / Tr S_B for balanced classes, and differs when imbalanced', () => {
  const rng = new Rng(5);
  const X = matrix(60, 3);
  rng.fillNormal(X.data);
  for (let i = 0; i < 30; i++) X.data[i * 3] += 2;
  const bal = kernelNC1(preactivationKernel(X, 1, 0), [30, 30]).nc1;
  assert.ok(relErr(bal * 3, featureNC1(X, [30, 30]).trace_S_W_div_S_B * 3) < 1e-12);
  const imb = kernelNC1(preactivationKernel(X, 1, 0), [10, 50]).nc1;
  assert.ok(relErr(imb, featureNC1(X, [10, 50]).trace_S_W_div_S_B) > 1e-3);
});

test('Tr(S_W S_B⁺)/C matches a direct d x d computation', () => {
  const rng = new Rng(9);
  const C = 3;
  const n = 20;
  const d = 4;
  const H = matrix(C * n, d);
  rng.fillNormal(H.data);
  for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) H.data[(c * n + i) * d + c] += 3;
  const f = featureNC1(H, [n, n, n]);
  // Direct: S_B has rank C-1 = 2 in R^4; use the pseudo-inverse through its eigenvectors.
  const mu = Array.from({ length: C }, (_, c) => Array.from({ length: d }, (_, t) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += H.data[(c * n + i) * d + t];
    return s / n;
  }));
  const g = Array.from({ length: d }, (_, t) => mu.reduce((s, m) => s + m[t], 0) / C);
  const SW = Array.from({ length: d }, () => new Array(d).fill(0));
  for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) SW[a][b] += (H.data[(c * n + i) * d + a] - mu[c][a]) * (H.data[(c * n + i) * d + b] - mu[c][b]) / (C * n);
  const M = mu.map((m) => m.map((v, t) => v - g[t]));
  // Orthonormal basis of span(M) by Gram–Schmidt; S_B⁺ = U (Uᵀ S_B U)⁻¹ Uᵀ.
  const U: number[][] = [];
  for (const v of M.slice(0, C - 1)) {
    const w = [...v];
    for (const u of U) {
      const p = u.reduce((s, x, t) => s + x * w[t], 0);
      for (let t = 0; t < d; t++) w[t] -= p * u[t];
    }
    const nrm = Math.hypot(...w);
    U.push(w.map((x) => x / nrm));
  }
  const SB = (a: number[], b: number[]) => M.reduce((s, m) => s + m.reduce((x, v, t) => x + v * a[t], 0) * m.reduce((x, v, t) => x + v * b[t], 0), 0) / C;
  const A = [[SB(U[0], U[0]), SB(U[0], U[1])], [SB(U[1], U[0]), SB(U[1], U[1])]];
  const det = A[0][0] * A[1][1] - A[0][1] * A[1][0];
  const Ai = [[A[1][1] / det, -A[0][1] / det], [-A[1][0] / det, A[0][0] / det]];
  const SWu = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b.reduce((y, z, j) => y + SW[i][j] * z, 0), 0);
  let tr = 0;
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) tr += Ai[i][j] * SWu(U[j], U[i]);
  assert.ok(relErr(f.papyan_nc1, tr / C) < 1e-10, `${f.papyan_nc1} vs ${tr / C}`);
});

test.run();
