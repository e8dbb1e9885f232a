import { formatBytes, maxFloat64Values, maxSquareSide, memoryBytes, squareMatrixReason } from '../engine/memory.ts';
import { defineStage, type StageParams } from '../engine/stage-api.ts';
import { matrix } from '../numerics/matrix.ts';
import { Rng } from '../numerics/rng.ts';
import { datasetOutputs, defaultTargets, labelsFromSizes } from './lib/dataset.ts';

/** The params as run receives them, typed from the spec below. */
type Params = StageParams<typeof import('./gaussian.ts').default>;

/** Sizes given, or N split evenly over the classes. */
function sizesOf(p: Params): number[] {
  return p.class_sizes ?? Array.from({ length: p.means.length }, () => p.N / p.means.length);
}

export default defineStage({
  description: 'Gaussian classes: class c has i.i.d. coordinates N(means[c], std²), rows in class-block order',
  light: true,
  params: {
    N: { type: 'integer', min: 1, max: maxSquareSide(), maxReason: squareMatrixReason('an N x N kernel matrix'), doc: 'number of samples' },
    d0: { type: 'integer', min: 1, max: maxFloat64Values(), maxReason: `one row of X must fit in this machine's ${formatBytes(memoryBytes())}`, doc: 'input dimension' },
    means: { type: 'number[]', default: [-2, 2], doc: 'class means (scalar per class, broadcast over d0); their count is the class count' },
    std: { type: 'number', min: 0, default: 0.5, doc: 'standard deviation of every class' },
    stds: { type: 'number[]', min: 0, optional: true, doc: 'per-class standard deviations (overrides std)' },
    class_sizes: { type: 'integer[]', min: 1, optional: true, doc: 'samples per class (default: N split evenly)' },
    targets: { type: 'number[]', optional: true, doc: 'regression target per class (default: -1, 1 for 2 classes; -3, -1, 1, 3 for 4)' },
    seed: { type: 'integer', min: 0, doc: 'random seed' },
  },
  check(p) {
    if (p.N * p.d0 > maxFloat64Values()) {
      return { key: 'd0', message: `X (N x d0 = ${p.N} x ${p.d0} float64) needs ${formatBytes(p.N * p.d0 * 8)}; this machine has ${formatBytes(memoryBytes())}` };
    }
    const C = p.means.length;
    if (C < 2) return { key: 'means', message: `expected at least 2 class means, got ${C}` };
    if (p.class_sizes) {
      if (p.class_sizes.length !== C) return { key: 'class_sizes', message: `expected ${C} sizes (one per mean), got ${p.class_sizes.length}` };
      const total = p.class_sizes.reduce((a, b) => a + b, 0);
      if (total !== p.N) return { key: 'class_sizes', message: `sizes sum to ${total}, but N = ${p.N}` };
    } else if (p.N % C !== 0) {
      return { key: 'N', message: `N = ${p.N} does not divide into ${C} equal classes (give class_sizes, or an N divisible by ${C})` };
    }
    if (p.stds && p.stds.length !== C) return { key: 'stds', message: `expected ${C} values (one per mean), got ${p.stds.length}` };
    if (p.targets && p.targets.length !== C) return { key: 'targets', message: `expected ${C} values (one per mean), got ${p.targets.length}` };
    return undefined;
  },
  outputs: ['X.f64', 'y.f64', 'data.json'],
  run({ params: p }) {
    const sizes = sizesOf(p);
    const X = matrix(p.N, p.d0);
    const rng = new Rng(p.seed);
    let row = 0;
    sizes.forEach((n, c) => {
      const sd = p.stds ? p.stds[c] : p.std;
      rng.fillNormal(X.data.subarray(row * p.d0, (row + n) * p.d0), p.means[c], sd);
      row += n;
    });
    const targets = p.targets ?? defaultTargets(sizes.length);
    return datasetOutputs({ N: p.N, d0: p.d0, class_sizes: sizes, targets, X, y: labelsFromSizes(sizes, targets) });
  },
});
