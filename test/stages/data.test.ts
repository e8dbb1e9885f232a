import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { F64Array } from '../../engine/stage-api.ts';
import { maxSquareSide } from '../../engine/config/limits.ts';
import gaussian from '../../stages/gaussian.ts';
import { checkParams, runStage } from '../helpers/stage.ts';

test('gaussian: class blocks with the requested means, std and labels', async () => {
  const out = await runStage(gaussian, { N: 4000, d0: 3, seed: 3 });
  const X = out['X.f64'] as F64Array;
  const y = (out['y.f64'] as F64Array).data;
  assert.equal(X.shape, [4000, 3]);
  assert.equal(out['data.json'], { N: 4000, d0: 3, class_sizes: [2000, 2000], targets: [-1, 1] });
  const stats = (from: number, to: number) => {
    const v = Array.from(X.data.subarray(from * 3, to * 3));
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return [m, Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length)];
  };
  const [m0, s0] = stats(0, 2000);
  const [m1, s1] = stats(2000, 4000);
  assert.ok(Math.abs(m0 + 2) < 0.03 && Math.abs(m1 - 2) < 0.03, `${m0} ${m1}`);
  assert.ok(Math.abs(s0 - 0.5) < 0.02 && Math.abs(s1 - 0.5) < 0.02);
  assert.equal([y[0], y[1999], y[2000], y[3999]], [-1, -1, 1, 1]);
});

test('gaussian: same seed same bytes; imbalanced sizes; 4 classes get targets -3, -1, 1, 3', async () => {
  const a = (await runStage(gaussian, { N: 64, d0: 2, seed: 1 }))['X.f64'] as F64Array;
  const b = (await runStage(gaussian, { N: 64, d0: 2, seed: 1 }))['X.f64'] as F64Array;
  assert.equal(Array.from(a.data), Array.from(b.data));
  const imb = await runStage(gaussian, { N: 2048, d0: 1, class_sizes: [256, 1792], seed: 0 });
  assert.equal((imb['data.json'] as { class_sizes: number[] }).class_sizes, [256, 1792]);
  const four = await runStage(gaussian, { N: 8, d0: 1, means: [-6, -2, 2, 6], seed: 0 });
  assert.equal((four['data.json'] as { targets: number[] }).targets, [-3, -1, 1, 3]);
});

test('gaussian: impossible values are refused with the key at fault', () => {
  assert.match(checkParams(gaussian, { N: 63, d0: 2, seed: 0 })!, /^N: N = 63 does not divide into 2/);
  assert.match(checkParams(gaussian, { N: 64, d0: 0, seed: 0 })!, /^d0: expected a value >= 1/);
  assert.match(checkParams(gaussian, { N: 64, d0: 2, std: -1, seed: 0 })!, /^std: expected a value >= 0/);
  assert.match(checkParams(gaussian, { N: 64, d0: 2, class_sizes: [10, 10], seed: 0 })!, /^class_sizes: sizes sum to 20, but N = 64/);
});

test('gaussian: sizes no machine holds are refused before anything runs, with the number', () => {
  const n = maxSquareSide();
  assert.is(checkParams(gaussian, { N: 2 * Math.floor(n / 2), d0: 1, seed: 0 }), undefined);
  assert.match(checkParams(gaussian, { N: 1e12, d0: 2, seed: 0 })!, new RegExp(`^N: expected a value <= ${n} \\(an N x N kernel matrix of float64 must fit in this machine's .*GiB`));
  assert.match(checkParams(gaussian, { N: 50000, d0: 1e6, seed: 0 })!, /^d0: X \(N x d0 = 50000 x 1000000 float64\) needs 372\.5 GiB/);
});

test.run();
