import { defineStage, f64, single } from '../engine/stage-api.ts';
import { backend } from '../numerics/backend.ts';
import { limitingKernel, type Activation, type KernelModel } from '../numerics/kernels.ts';
import { mirrorLower } from '../numerics/matrix.ts';
import { kernelNC1 } from '../numerics/nc1.ts';
import { readDataset } from './lib/dataset.ts';

export default defineStage({
  description: 'Limiting kernel of a 2-layer net (K0, NNGP, derivative, NTK; erf or relu) and its kernel NC1',
  params: {
    model: { type: 'string', enum: ['k0', 'nngp', 'derivative', 'ntk'], doc: 'which kernel' },
    activation: { type: 'string', enum: ['erf', 'relu'], default: 'erf', doc: 'activation of the hidden layer' },
    sigma_w: { type: 'number', greaterThan: 0, default: 1, doc: 'weight std σ_w' },
    sigma_b: { type: 'number', min: 0, default: 0, doc: 'bias std σ_b' },
    compat: {
      type: 'string',
      enum: ['none', 'shallow_nc1'],
      default: 'none',
      doc: "shallow_nc1: the original code's erf derivative kernel (a scalar sum where the outer product belongs)",
    },
    save_matrix: { type: 'boolean', default: false, doc: 'also store the N x N kernel (8 N² bytes)' },
  },
  inputs: { data: { doc: 'a dataset node (gaussian, dataset-file)', needs: ['X.f64', 'y.f64', 'data.json'] } },
  // K.f64 too with save_matrix: only what every node writes is declared.
  outputs: ['stats.json'],
  run({ params: p, inputs, log }) {
    const data = readDataset(single(inputs.data, 'data'));
    log(`linear algebra on ${backend().name}`);
    const { K, compatScalar } = limitingKernel(data.X, {
      activation: p.activation,
      model: p.model,
      sigmaW: p.sigma_w,
      sigmaB: p.sigma_b,
      compat: p.compat === 'shallow_nc1',
    });
    const stats = {
      model: p.model,
      activation: p.activation,
      compat: p.compat,
      N: data.N,
      d0: data.d0,
      class_sizes: data.class_sizes,
      ...kernelNC1(K, data.class_sizes),
      ...(p.compat === 'shallow_nc1' && compatScalar !== undefined ? { compat_scalar: compatScalar } : {}),
    };
    return p.save_matrix ? { 'stats.json': stats, 'K.f64': f64([data.N, data.N], mirrorLower(K).data) } : { 'stats.json': stats };
  },
});
