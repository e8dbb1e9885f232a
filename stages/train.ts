import { readFileSync } from 'node:fs';
import { formatBytes, maxFloat64Values, memoryBytes } from '../engine/memory.ts';
import { defineStage, single, type FileParam, type StageParams } from '../engine/stage-api.ts';
import { jacobiEigen } from '../numerics/jacobi.ts';
import { Rng } from '../numerics/rng.ts';
import { readDataset } from './lib/dataset.ts';
import type { FcnActivation, FcnWeights } from './lib/fcn.ts';
import { describeTrainBackend, trainBackend, trainEnv, trainOnBackend } from './lib/train-backend.ts';

/** The params as run receives them, typed from the spec below. */
type Params = StageParams<typeof import('./train.ts').default>;

/** W1 ~ N(0, σ_w²/d0), b1, b2 ~ N(0, σ_b²), W2 ~ N(0, w2_std²/h), from the node's seed. */
function initWeights(p: Params, d0: number): FcnWeights {
  const rng = new Rng(p.seed!);
  const normals = (n: number, std: number) => Float32Array.from(rng.fillNormal(new Float64Array(n), 0, std));
  const W1 = normals(p.h * d0, p.sigma_w / Math.sqrt(d0));
  const b1 = normals(p.h, p.sigma_b);
  const W2 = normals(p.h, p.w2_std / Math.sqrt(p.h));
  return { W1, b1, W2, b2: normals(1, p.sigma_b)[0] };
}

/** Initial weights from a JSON file with PyTorch's names (first_layer.weight, ... final_layer.bias). */
function weightsFromFile(path: string, h: number, d0: number): FcnWeights {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, number[] | number[][]>;
  const get = (k: string) => {
    if (!(k in doc)) throw new Error(`${path}: missing "${k}"`);
    return (doc[k] as number[] | number[][]).flat() as number[];
  };
  const w = { W1: Float32Array.from(get('first_layer.weight')), b1: Float32Array.from(get('first_layer.bias')), W2: Float32Array.from(get('final_layer.weight')), b2: get('final_layer.bias')[0] };
  if (w.W1.length !== h * d0 || w.b1.length !== h || w.W2.length !== h) throw new Error(`${path}: weights do not fit h = ${h}, d0 = ${d0}`);
  return w;
}

/** Eigenvalues of W1ᵀ W1 (d0 x d0, float64): the squared singular values of W1. */
function spectrum(W1: Float32Array, h: number, d0: number): number[] {
  const g = new Float64Array(d0 * d0);
  for (let j = 0; j < h; j++) for (let a = 0; a < d0; a++) for (let b = 0; b < d0; b++) g[a * d0 + b] += W1[j * d0 + a] * W1[j * d0 + b];
  return Array.from(jacobiEigen(g, d0).values).sort((x, y) => y - x);
}

export default defineStage({
  description: '2-layer network trained by full-batch gradient descent on MSE (ONNX Runtime or tfjs, float32); NC1 of hidden features and outputs',
  params: {
    activation: { type: 'string', enum: ['erf', 'relu'], default: 'erf', doc: 'hidden activation' },
    h: { type: 'integer', min: 1, max: maxFloat64Values(), maxReason: `the h float64 weights of W2 must fit in this machine's ${formatBytes(memoryBytes())}`, default: 500, doc: 'hidden width' },
    sigma_w: { type: 'number', greaterThan: 0, default: 1, doc: 'W1 ~ N(0, σ_w²/d0)' },
    sigma_b: { type: 'number', min: 0, default: 0, doc: 'biases ~ N(0, σ_b²)' },
    w2_std: { type: 'number', greaterThan: 0, default: 1.97, doc: 'W2 ~ N(0, w2_std²/h)' },
    lr: { type: 'number', greaterThan: 0, default: 1e-3, doc: 'learning rate' },
    epochs: { type: 'integer', min: 1, default: 1000, doc: 'full-batch steps' },
    weight_decay: { type: 'number', min: 0, default: 1e-6, doc: 'weight decay on every parameter' },
    momentum: { type: 'number', min: 0, max: 0.999, default: 0, doc: 'heavy-ball momentum (PyTorch convention)' },
    seed: { type: 'integer', min: 0, optional: true, doc: 'initialisation seed (required unless init gives the weights)' },
    probe_every: { type: 'integer', min: 1, default: 100, doc: 'NC1 probes every this many epochs (and at 0 and the end)' },
    init: { type: 'file', optional: true, doc: 'initial weights (JSON with PyTorch names) instead of the seeded draw' },
    spectrum: { type: 'boolean', default: false, doc: 'also the eigenvalues of W1ᵀW1 at init and at the end (d0 x d0)' },
  },
  inputs: { data: { doc: 'a dataset node (rows in class-block order)', needs: ['X.f64', 'y.f64', 'data.json'] } },
  check(p) {
    if (p.seed === undefined && !p.init) return { key: 'seed', message: 'required: the initialisation seed (or give the weights with init)' };
    return undefined;
  },
  async run({ params: p, inputs, progress, file, log }) {
    const data = readDataset(single(inputs.data, 'data'));
    const backend = trainBackend();
    const init = p.init ? weightsFromFile(file(p.init), p.h, data.d0) : initWeights(p, data.d0);
    const start = performance.now();
    const r = await trainOnBackend({
      X: Float32Array.from(data.X.data),
      y: Float32Array.from(data.y),
      N: data.N,
      d0: data.d0,
      h: p.h,
      activation: p.activation,
      lr: p.lr,
      epochs: p.epochs,
      weightDecay: p.weight_decay,
      momentum: p.momentum,
      probeEvery: p.probe_every,
      classSizes: data.class_sizes,
      init,
      onEpoch: (e) => progress(e / p.epochs, `epoch ${e}/${p.epochs}`),
    }, backend);
    log(`${p.epochs} epochs in ${((performance.now() - start) / 1000).toFixed(2)} s on ${describeTrainBackend(backend)}`);
    const first = r.probes[0];
    const last = r.probes[r.probes.length - 1];
    const stats = {
      model: 'fcn',
      activation: p.activation,
      N: data.N,
      d0: data.d0,
      h: p.h,
      class_sizes: data.class_sizes,
      nc1: last.hidden.trace_S_W_div_S_B,
      papyan_nc1: last.hidden.papyan_nc1,
      output_nc1: last.output.trace_S_W_div_S_B,
      nc1_init: first.hidden.trace_S_W_div_S_B,
      loss_init: r.loss[0],
      final_loss: r.finalLoss,
    };
    const outputs: Record<string, unknown> = {
      'stats.json': stats,
      'probes.json': r.probes.map((q) => ({ ...q, loss: q.epoch < r.loss.length ? r.loss[q.epoch] : r.finalLoss })),
      'losses.json': r.loss.map((loss, e) => ({ epoch: e, loss })),
    };
    if (p.spectrum) {
      const a = spectrum(init.W1, p.h, data.d0);
      const b = spectrum(r.weights.W1, p.h, data.d0);
      outputs['spectrum.json'] = a.map((v, i) => ({ index: i + 1, init: v, final: b[i] }));
    }
    return outputs;
  },
});
