/**
 * The 2-layer net of stages/lib/fcn.ts on ONNX Runtime (float32): one ONNX graph is one epoch —
 * the forward pass, the same hand-written backward pass and PyTorch-SGD update
 * v ← m v + (∇p + wd p); p ← p − lr v (m = 0: p ← p − lr (∇p + wd p)) — and the parameters it
 * returns are fed straight back as the next epoch's inputs (ORT tensors, never converted).
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

/**
 * One epoch: inputs X1 [N, w], y [N, 1], W1t [w, h], W2t [h, 1], b2 [1, 1] (+ their velocities
 * V1, V2, Vb with momentum), scalars lr, wd, m; outputs loss (before the step) and the updated
 * parameters (and velocities) under the same names with a trailing _next.
 */
function epochGraph(N: number, w: number, h: number, act: FcnActivation, momentum: boolean): Uint8Array {
  const g = new Graph(`fcn_epoch_${act}`);
  g.input('X1', 'float32', [N, w]);
  g.input('y', 'float32', [N, 1]);
  const shapes: Record<string, number[]> = { W1t: [w, h], W2t: [h, 1], b2: [1, 1] };
  for (const [p, s] of Object.entries(shapes)) g.input(p, 'float32', s);
  if (momentum) for (const [p, s] of Object.entries(shapes)) g.input(`V_${p}`, 'float32', s);
  for (const s of ['lr', 'wd', 'm']) g.input(s, 'float32', []);
  const Z = g.op('MatMul', ['X1', 'W1t']);
  const [H, dAct] = activate(g, act, Z);
  const r = g.op('Sub', [g.op('Add', [g.op('MatMul', [H, 'W2t']), 'b2']), 'y']);
  g.op('ReduceMean', [g.op('Mul', [r, r])], { keepdims: 0 }, 'loss');
  const df = g.op('Mul', [r, g.constant([2 / N], 'float32')]);
  const dW2t = g.op('Gemm', [H, df], { transA: 1 });
  const db2 = g.op('ReduceSum', [df], { keepdims: 1 });
  const W2row = g.op('Reshape', ['W2t', g.constant([1, h], 'int64', [2])]);
  const dfScaled = act === 'erf' ? g.op('Mul', [df, g.constant([ERF_DERIV], 'float32')]) : df;
  const dZ = g.op('Mul', [g.op('Mul', [dfScaled, W2row]), dAct]);
  const dW1t = g.op('Gemm', ['X1', dZ], { transA: 1 });
  const grads: Record<string, string> = { W1t: dW1t, W2t: dW2t, b2: db2 };
  for (const [p, s] of Object.entries(shapes)) {
    const grad = g.op('Add', [grads[p], g.op('Mul', [p, 'wd'])]);
    const step = momentum ? g.op('Add', [g.op('Mul', [`V_${p}`, 'm']), grad], {}, `V_${p}_next`) : grad;
    g.op('Sub', [p, g.op('Mul', [step, 'lr'])], {}, `${p}_next`);
    g.output(`${p}_next`, 'float32', s);
    if (momentum) g.output(`V_${p}_next`, 'float32', s);
  }
  g.output('loss', 'float32', []);
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
  const epoch = ort.session(`fcn_epoch_${s.activation}_${N}x${w}x${h}_${momentum ? 'm' : 'gd'}`, threads, () => epochGraph(N, w, h, s.activation, momentum));
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
  for (let e = 1; e <= s.epochs; e++) {
    const out = epoch.run({ X1, y, ...params, ...scalars });
    loss.push((out.loss.data as Float32Array)[0]);
    const next: Record<string, OrtTensor> = {};
    for (const p of Object.keys(params)) next[p] = out[`${p}_next`];
    params = next;
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
