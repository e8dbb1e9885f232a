// @linalg-dependent: results go through numerics/backend.ts; test/run.mjs reruns this file on `ort` where OpenBLAS is the default.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { limitingKernel, type Activation, type KernelModel } from '../../numerics/kernels.ts';
import { fromRows, mirrorLower } from '../../numerics/matrix.ts';
import { kernelNC1 } from '../../numerics/nc1.ts';
import { loadReference, relErr } from '../helpers/reference.ts';

const cases: [string, KernelModel, boolean][] = [
  ['nngp_pre_K0', 'k0', false],
  ['nngp_act', 'nngp', false],
  ['ntk_correct', 'ntk', false],
  ['ntk_as_in_repo', 'ntk', true],
  ['act_derivative_kernel_correct', 'derivative', false],
  ['act_derivative_kernel_as_in_repo', 'derivative', true],
];

function check(file: string, tol: (name: string) => number) {
  const ref = loadReference(file);
  const X = fromRows(ref.X);
  const sizes: number[] = ref.settings.class_sizes;
  for (const [name, model, compat] of cases) {
    const expected = ref.float64[name];
    test(`${file}: ${name} matches the original code (float64)`, () => {
      const { K } = limitingKernel(X, { activation: ref.settings.activation as Activation, model, sigmaW: 1, sigmaB: 0, compat });
      const s = kernelNC1(K, sizes);
      const t = tol(name);
      // The derivative kernels' NC1 is a ratio of two tiny differences: compare their inputs instead.
      if (!name.startsWith('act_derivative')) {
        assert.ok(relErr(s.nc1, expected.nc1) < t, `nc1 ${s.nc1} vs ${expected.nc1}`);
        assert.ok(relErr(s.Tr_Sigma_W, expected.Tr_Sigma_W) < t, `Tr_Sigma_W ${s.Tr_Sigma_W} vs ${expected.Tr_Sigma_W}`);
        assert.ok(relErr(s.Tr_Sigma_B, expected.Tr_Sigma_B) < t, `Tr_Sigma_B ${s.Tr_Sigma_B} vs ${expected.Tr_Sigma_B}`);
      }
      assert.ok(relErr(s.trace, expected.trace) < t, `trace ${s.trace} vs ${expected.trace}`);
      s.class_block_sums.forEach((b, c) => assert.ok(relErr(b, expected.class_block_sums[c]) < Math.max(t, 1e-9), `block ${c}`));
      const full = mirrorLower(K);
      const n = full.rows;
      const ref3: number[][] = expected.K_first3x3;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) assert.ok(relErr(full.data[i * n + j], ref3[i][j]) < t, `K[${i},${j}]`);
      const n0 = sizes[0];
      assert.ok(relErr(full.data[n0], expected.K_cross_0_n0) < t, 'K[0,n0]');
      assert.ok(relErr(full.data[n * n - 1], expected.K_last_last) < t, 'K[last,last]');
      if (expected.K_full) {
        let worst = 0;
        expected.K_full.forEach((row: number[], i: number) => row.forEach((v, j) => (worst = Math.max(worst, relErr(full.data[i * n + j], v)))));
        assert.ok(worst < t, `K_full worst relative error ${worst}`);
      }
    });
  }
}

check('kernels_erf_bal_N64_d2.json', () => 1e-10);
// relu: acos near ±1 amplifies rounding differences; the bar is 1e-7 for the relu NTK.
check('kernels_relu_bal_N128_d8.json', (name) => (name === 'nngp_act' || name === 'nngp_pre_K0' ? 1e-10 : 1e-7));

test('the compat scalar is the sum of (1 + 2 K0_kk)^2, as in the original code', () => {
  const ref = loadReference('kernels_erf_bal_N64_d2.json');
  const { compatScalar } = limitingKernel(fromRows(ref.X), { activation: 'erf', model: 'ntk', sigmaW: 1, sigmaB: 0, compat: true });
  assert.ok(relErr(compatScalar!, ref.float64.erf_repo_scalar_dot) < 1e-12);
});

test('the corrected erf NTK has about twice the NC1 of the original code (the bug DESIGN §4 names)', () => {
  const ref = loadReference('kernels_erf_bal_N64_d2.json');
  const X = fromRows(ref.X);
  const nc1 = (compat: boolean) => kernelNC1(limitingKernel(X, { activation: 'erf', model: 'ntk', sigmaW: 1, sigmaB: 0, compat }).K, [32, 32]).nc1;
  const ratio = nc1(false) / nc1(true);
  assert.ok(ratio > 1.8 && ratio < 2.2, `ratio ${ratio}`);
});

test('sigma_b shifts K0 by a constant, which leaves kernel NC1 unchanged', () => {
  const ref = loadReference('kernels_erf_bal_N64_d2.json');
  const X = fromRows(ref.X);
  const a = kernelNC1(limitingKernel(X, { activation: 'relu', model: 'k0', sigmaW: 1, sigmaB: 0 }).K, [32, 32]);
  const b = kernelNC1(limitingKernel(X, { activation: 'relu', model: 'k0', sigmaW: 1, sigmaB: 0.7 }).K, [32, 32]);
  assert.ok(relErr(a.nc1, b.nc1) < 1e-12);
  assert.ok(Math.abs(b.trace - a.trace - 64 * 0.49) < 1e-9);
});

test.run();
