import { defineStage, single } from '../engine/stage-api.ts';
import { preactivationKernel } from '../numerics/kernels.ts';
import { matrix } from '../numerics/matrix.ts';
import { featureNC1, kernelNC1 } from '../numerics/nc1.ts';
import type { DataInfo } from './lib/dataset.ts';

export default defineStage({
  description: 'NC1 of features (Tr S_W/Tr S_B and Tr(S_W S_B⁺)/C, plus kernel NC1 of their Gram matrix) or of a stored kernel',
  params: {
    array: { type: 'string', default: 'X.f64', doc: 'which array of the input: X.f64 (data), K.f64 (a saved kernel), ...' },
    kind: { type: 'string', enum: ['features', 'kernel'], default: 'features', doc: 'features: rows are samples; kernel: an N x N Gram matrix' },
    gram: { type: 'boolean', default: false, doc: 'features: also the kernel NC1 of the Gram matrix (1/d) H Hᵀ (costs N² d)' },
  },
  inputs: {
    data: { doc: 'the node holding the array; class sizes come from its data.json or stats.json' },
  },
  outputs: ['nc1.json'],
  run({ params: p, inputs }) {
    const input = single(inputs.data, 'data');
    const info = input.outputs.includes('data.json') ? input.json<DataInfo>('data.json') : input.json<DataInfo>('stats.json');
    const arr = input.array(p.array);
    if (arr.shape.length !== 2) throw new Error(`${p.array} has shape [${arr.shape}], expected a matrix`);
    const M = matrix(arr.shape[0], arr.shape[1], arr.data);
    if (p.kind === 'kernel') return { 'nc1.json': { N: info.N, class_sizes: info.class_sizes, kernel: kernelNC1(M, info.class_sizes) } };
    // The Gram kernel (1/d) H Hᵀ: its kernel NC1 equals Tr S_W/Tr S_B when classes are balanced.
    const gram = p.gram ? { gram: kernelNC1(preactivationKernel(M, 1, 0), info.class_sizes) } : {};
    return { 'nc1.json': { N: info.N, d: M.cols, class_sizes: info.class_sizes, feature: featureNC1(M, info.class_sizes), ...gram } };
  },
});
