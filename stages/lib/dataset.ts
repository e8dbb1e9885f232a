/** The data format every data stage writes and every consumer reads: X.f64 (N x d0), y.f64 (N), data.json. */
import { f64, type F64Array, type InputHandle } from '../../engine/stage-api.ts';
import { matrix, type Matrix } from '../../numerics/matrix.ts';

export interface DataInfo {
  N: number;
  d0: number;
  class_sizes: number[];
  /** Regression target of each class (rows of class c have y = targets[c]). */
  targets: number[];
  /** Images: [height, width, channels], rows of X flattened in that order. */
  image?: number[];
}

export interface Dataset extends DataInfo {
  X: Matrix;
  y: Float64Array;
}

export function datasetOutputs(d: Dataset): { 'X.f64': F64Array; 'y.f64': F64Array; 'data.json': DataInfo } {
  return {
    'X.f64': f64([d.N, d.d0], d.X.data),
    'y.f64': f64([d.N], d.y),
    'data.json': { N: d.N, d0: d.d0, class_sizes: d.class_sizes, targets: d.targets, ...(d.image ? { image: d.image } : {}) },
  };
}

export function readDataset(input: InputHandle): Dataset {
  const info = input.json<DataInfo>('data.json');
  const X = input.array('X.f64');
  return { ...info, X: matrix(info.N, info.d0, X.data), y: input.array('y.f64').data };
}

/** Evenly spaced, centred class targets: C = 2 -> (-1, 1); C = 4 -> (-3, -1, 1, 3). */
export function defaultTargets(C: number): number[] {
  return Array.from({ length: C }, (_, c) => 2 * c - (C - 1));
}

export function labelsFromSizes(classSizes: number[], targets: number[]): Float64Array {
  const y = new Float64Array(classSizes.reduce((a, b) => a + b, 0));
  let o = 0;
  classSizes.forEach((n, c) => {
    y.fill(targets[c], o, o + n);
    o += n;
  });
  return y;
}
