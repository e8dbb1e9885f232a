/**
 * The 2-layer net of stages/lib/fcn.ts on ONNX Runtime (float32): an ONNX Loop runs several
 * epochs per call, each the forward pass, the same hand-written backward pass and PyTorch-SGD
 * update v ← m v + (∇p + wd p); p ← p − lr v (m = 0: p ← p − lr (∇p + wd p)); the parameters a
 * call returns are fed straight back into the next (ORT tensors, never converted).
 * Losses come out of the graph each epoch (MSE before the step); NC1 probes of the hidden
 * features and outputs are computed in float64 from a forward-only graph, as on tfjs.
 *
 * The first layer's bias rides in W1 as on tfjs: [X 1] [W1ᵀ; b1] is one MatMul and its gradient
 * [X 1]ᵀ dZ gives dW1ᵀ and db1 together.
 */
import { matrix } from '../../numerics/matrix.ts';
import { featureNC1 } from '../../numerics/nc1.ts';
import { Graph } from '../../numerics/onnx-graph.ts';
import { ortThreads, requireOrt, type OrtTensor } from '../../numerics/ort.ts';
import type { FcnActivation, Probe, TrainResult, TrainSpec } from './fcn.ts';

const ERF_DERIV = 2 / Math.sqrt(Math.PI);
/** Most epochs per ORT call: progress is reported between calls. */
const EPOCHS_PER_CALL = 100;

/** [X 1]: rows of X with a 1 appended (width d0 + 1). */
function withOnes(X: Float32Array, N: number, d0: number): Float32Array {
  const w = d0 + 1;
  const out = new Float32Array(N * w);
  for (let i = 0; i < N; i++) {
    out.set(X.subarray(i * d0, (i + 1) * d0), i * w);
    out[i * w + d0] = 1;
  }
  return out;
}

/** φ(Z) and φ'(Z) (erf: up to the factor 2/√π, folded into the output gradient). */
function activate(g: Graph, act: FcnActivation, Z: string): [string, string] {
  if (act === 'relu') return [g.op('Relu', [Z]), g.op('Cast', [g.op('Greater', [Z, g.constant([0], 'float32')])], { to: 1 })];
  return [g.op('Erf', [Z]), g.op('Exp', [g.op('Neg', [g.op('Mul', [Z, Z])])])];
}

const PARAMS = ['W1t', 'W2t', 'b2'] as const;

/**
 * The epoch's ops on graph g: reads X1, y, lr, wd, m and the parameters (and velocities) named by
 * `inp`; writes the loss (before the step) to `loss` and the updated ones to the names `out` gives.
 */
function epochOps(g: Graph, N: number, h: number, act: FcnActivation, momentum: boolean, inp: (p: string) => string, out: (p: string) => string, loss: string): void {
  const Z = g.op('MatMul', ['X1', inp('W1t')]);
  const [H, dAct] = activate(g, act, Z);
  const r = g.op('Sub', [g.op('Add', [g.op('MatMul', [H, inp('W2t')]), inp('b2')]), 'y']);
  g.op('ReduceMean', [g.op('Mul', [r, r])], { keepdims: 0 }, loss);
  const df = g.op('Mul', [r, g.constant([2 / N], 'float32')]);
  const dW2t = g.op('Gemm', [H, df], { transA: 1 });
  const db2 = g.op('ReduceSum', [df], { keepdims: 1 });
  const W2row = g.op('Reshape', [inp('W2t'), g.constant([1, h], 'int64', [2])]);
  const dfScaled = act === 'erf' ? g.op('Mul', [df, g.constant([ERF_DERIV], 'float32')]) : df;
  const dZ = g.op('Mul', [g.op('Mul', [dfScaled, W2row]), dAct]);
  const dW1t = g.op('Gemm', ['X1', dZ], { transA: 1 });
  const grads: Record<string, string> = { W1t: dW1t, W2t: dW2t, b2: db2 };
  for (const p of PARAMS) {
    const grad = g.op('Add', [grads[p], g.op('Mul', [inp(p), 'wd'])]);
    const step = momentum ? g.op('Add', [g.op('Mul', [inp(`V_${p}`), 'm']), grad], {}, out(`V_${p}`)) : grad;
    g.op('Sub', [inp(p), g.op('Mul', [step, 'lr'])], {}, out(p));
  }
}

const shapesOf = (w: number, h: number): Record<string, number[]> => ({ W1t: [w, h], W2t: [h, 1], b2: [1, 1] });
const stateNames = (momentum: boolean) => [...PARAMS, ...(momentum ? PARAMS.map((p) => `V_${p}`) : [])];
const stateShape = (w: number, h: number, name: string) => shapesOf(w, h)[name.replace(/^V_/, '')];

function commonInputs(g: Graph, N: number, w: number, h: number, momentum: boolean): void {
  g.input('X1', 'float32', [N, w]);
  g.input('y', 'float32', [N, 1]);
  for (const p of stateNames(momentum)) g.input(p, 'float32', stateShape(w, h, p));
  for (const s of ['lr', 'wd', 'm']) g.input(s, 'float32', []);
}

/**
 * `trips` epochs in one call with ONNX Loop. Inputs: X1 [N, w], y [N, 1], W1t [w, h], W2t [h, 1],
 * b2 [1, 1] (+ their velocities V_W1t, V_W2t, V_b2 with momentum), scalars lr, wd, m, trips;
 * outputs: the state after the last epoch (names with _next) and the losses [trips], each before
 * its epoch's step. Same bits as one call per epoch (tested), and faster: measured CPU time per
 * epoch 3.14 vs 3.25 ms at N = 1024, d0 = 128, h = 500; 5.71 vs 6.03 ms at d0 = 1, h = 2000;
 * 0.23 vs 0.35 ms at N = 128 (best of 6, contended machine).
 */
function loopGraph(N: number, w: number, h: number, act: FcnActivation, momentum: boolean): Uint8Array {
  const g = new Graph(`fcn_loop_${act}`);
  commonInputs(g, N, w, h, momentum);
  g.input('trips', 'int64', []);
  const body = new Graph('body');
  body.input('iter', 'int64', []);
  body.input('cond_in', 'bool', []);
  const names = stateNames(momentum);
  for (const p of names) body.input(`in_${p}`, 'float32', stateShape(w, h, p));
  body.op('Identity', ['cond_in'], {}, 'cond_out');
  body.output('cond_out', 'bool', []);
  epochOps(body, N, h, act, momentum, (p) => `in_${p}`, (p) => `out_${p}`, 'body_loss');
  for (const p of names) body.output(`out_${p}`, 'float32', stateShape(w, h, p));
  body.output('body_loss', 'float32', []);
  g.opMulti('Loop', ['trips', '', ...names], [...names.map((p) => `${p}_next`), 'losses'], { body });
  for (const p of names) g.output(`${p}_next`, 'float32', stateShape(w, h, p));
  g.output('losses', 'float32', ['trips']);
  return g.model();
}

/** Forward only: hidden features H [N, h] and outputs f [N, 1]. */
function forwardGraph(N: number, w: number, h: number, act: FcnActivation): Uint8Array {
  const g = new Graph(`fcn_forward_${act}`);
  g.input('X1', 'float32', [N, w]);
  g.input('W1t', 'float32', [w, h]);
  g.input('W2t', 'float32', [h, 1]);
  g.input('b2', 'float32', [1, 1]);
  const H = act === 'relu' ? g.op('Relu', [g.op('MatMul', ['X1', 'W1t'])], {}, 'H') : g.op('Erf', [g.op('MatMul', ['X1', 'W1t'])], {}, 'H');
  g.op('Add', [g.op('MatMul', [H, 'W2t']), 'b2'], {}, 'f');
  g.output('H', 'float32', [N, h]);
  g.output('f', 'float32', [N, 1]);
  return g.model();
}

export function trainFcnOrt(s: TrainSpec): TrainResult {
  const ort = requireOrt();
  const threads = ortThreads();
  const { N, d0, h } = s;
  const w = d0 + 1;
  const f32 = (data: Float32Array, dims: number[]) => ort.tensor('float32', data, dims);
  const momentum = s.momentum > 0;
  const loop = ort.session(`fcn_loop_${s.activation}_${N}x${w}x${h}_${momentum ? 'm' : 'gd'}`, threads, () => loopGraph(N, w, h, s.activation, momentum));
  const forward = ort.session(`fcn_forward_${s.activation}_${N}x${w}x${h}`, threads, () => forwardGraph(N, w, h, s.activation));

  const X1 = f32(withOnes(s.X, N, d0), [N, w]);
  const probeX = s.probeX ? f32(withOnes(s.probeX, N, d0), [N, w]) : X1;
  const y = f32(s.y, [N, 1]);
  const w1t = new Float32Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let k = 0; k < d0; k++) w1t[k * h + j] = s.init.W1[j * d0 + k];
    w1t[d0 * h + j] = s.init.b1[j];
  }
  let params: Record<string, OrtTensor> = { W1t: f32(w1t, [w, h]), W2t: f32(Float32Array.from(s.init.W2), [h, 1]), b2: f32(Float32Array.of(s.init.b2), [1, 1]) };
  if (momentum) for (const [p, t] of Object.entries({ ...params })) params[`V_${p}`] = f32(new Float32Array(t.data.length), [...t.dims]);
  const scalars = { lr: f32(Float32Array.of(s.lr), []), wd: f32(Float32Array.of(s.weightDecay), []), m: f32(Float32Array.of(s.momentum), []) };

  const run = (X: OrtTensor) => forward.run({ X1: X, W1t: params.W1t, W2t: params.W2t, b2: params.b2 });
  const probe = (e: number): Probe => {
    const out = run(probeX);
    return {
      epoch: e,
      hidden: featureNC1(matrix(N, h, Float64Array.from(out.H.data as Float32Array)), s.classSizes),
      output: featureNC1(matrix(N, 1, Float64Array.from(out.f.data as Float32Array)), s.classSizes),
    };
  };

  const loss: number[] = [];
  const probes: Probe[] = [probe(0)];
  // Epochs run in chunks up to the next probe (and at most EPOCHS_PER_CALL, for progress).
  for (let e = 0; e < s.epochs; ) {
    const k = Math.min(EPOCHS_PER_CALL, s.epochs - e, s.probeEvery - (e % s.probeEvery));
    const out = loop.run({ X1, y, ...params, ...scalars, trips: ort.tensor('int64', BigInt64Array.of(BigInt(k)), []) });
    loss.push(...(out.losses.data as Float32Array));
    const next: Record<string, OrtTensor> = {};
    for (const p of Object.keys(params)) next[p] = out[`${p}_next`];
    params = next;
    e += k;
    if (e % s.probeEvery === 0 || e === s.epochs) probes.push(probe(e));
    s.onEpoch?.(e);
  }
  // The loss after the last step, as on tfjs: the float32 outputs' MSE (summed in float64).
  const f = run(X1).f.data as Float32Array;
  let sq = 0;
  for (let i = 0; i < N; i++) sq += (f[i] - s.y[i]) ** 2;
  const W1tF = params.W1t.data as Float32Array;
  const W1 = new Float32Array(h * d0);
  for (let j = 0; j < h; j++) for (let k = 0; k < d0; k++) W1[j * d0 + k] = W1tF[k * h + j];
  return {
    loss,
    finalLoss: sq / N,
    probes,
    weights: { W1, b1: W1tF.slice(d0 * h, (d0 + 1) * h), W2: Float32Array.from(params.W2t.data as Float32Array), b2: (params.b2.data as Float32Array)[0] },
  };
}
