/**
 * A C-class classifier on TensorFlow.js (float32): an MLP with ReLU hidden layers, or a small CNN
 * (3x3 convolutions with ReLU and 2x2 max-pooling, then one ReLU dense layer). The last hidden
 * layer is the "penultimate features" h of Papyan et al.; logits = h W_cᵀ + b_c.
 *
 * Convolutions are written as im2col (nine shifted slices concatenated) times a matrix: wasm has
 * no Conv2DBackpropFilter kernel, and slice, concat and matMul all have gradients there.
 * Weights are drawn from the node's seed with our own generator (Kaiming normal for ReLU layers,
 * N(0, 1/fan_in) for the classifier, zero biases), so every backend starts from the same numbers.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { Rng } from '../../numerics/rng.ts';

export interface NetSpec {
  arch: 'mlp' | 'cnn';
  /** MLP: hidden widths. CNN: one dense width after the convolutions. */
  hidden: number[];
  /** CNN: output channels of each 3x3 convolution (each followed by 2x2 max-pooling). */
  channels: number[];
  /** Input: d0 features, or an image [height, width, channels] (CNN). */
  d0: number;
  image?: number[];
  classes: number;
  /** Batch normalisation before each hidden dense layer's ReLU (as in Papyan et al.'s networks). */
  batchNorm: boolean;
}

export interface BatchNorm {
  gamma: TF.Variable;
  /** Running statistics (PyTorch: momentum 0.1, unbiased variance), used when not training. */
  mean: TF.Variable;
  variance: TF.Variable;
}

export interface Layer {
  name: string;
  W: TF.Variable;
  /** Bias; with batch norm, the shift β. */
  b: TF.Variable;
  bn?: BatchNorm;
}

export interface BatchStats {
  layer: Layer;
  mean: TF.Tensor;
  variance: TF.Tensor;
  rows: number;
}

export interface Net {
  layers: Layer[];
  /** The classifier layer: W is [p, C] (its transpose is Papyan's W). */
  head: Layer;
  featureDim: number;
  trainable: TF.Variable[];
  /** training: batch statistics in batch-norm layers (returned in stats), else running ones. */
  forward(x: TF.Tensor2D, training?: boolean): { features: TF.Tensor2D; logits: TF.Tensor2D; stats: BatchStats[] };
  updateRunningStats(stats: BatchStats[]): void;
  dispose(): void;
}

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

function variable(tf: typeof TF, shape: number[], std: number, rng: Rng): TF.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = std === 0 ? new Float32Array(size) : Float32Array.from(rng.fillNormal(new Float64Array(size), 0, std));
  // Unnamed: tfjs names must be unique per process, and a worker trains many nodes.
  return tf.variable(tf.tensor(values, shape, 'float32'), true);
}

function dense(tf: typeof TF, rng: Rng, name: string, fanIn: number, fanOut: number, gain: number, batchNorm = false): Layer {
  const layer: Layer = { name, W: variable(tf, [fanIn, fanOut], Math.sqrt(gain / fanIn), rng), b: variable(tf, [fanOut], 0, rng) };
  if (batchNorm) {
    layer.bn = { gamma: tf.variable(tf.ones([fanOut]), true), mean: tf.variable(tf.zeros([fanOut]), false), variance: tf.variable(tf.ones([fanOut]), false) };
  }
  return layer;
}

/** relu(h W + b), or relu(γ (h W − μ)/√(σ² + ε) + β) with batch norm. */
function hiddenLayer(tf: typeof TF, mm: MatMul, h: TF.Tensor2D, l: Layer, training: boolean, stats: BatchStats[]): TF.Tensor2D {
  const z = mm(h, l.W as unknown as TF.Tensor2D);
  if (!l.bn) return tf.relu(tf.add(z, l.b)) as TF.Tensor2D;
  let mean: TF.Tensor = l.bn.mean;
  let variance: TF.Tensor = l.bn.variance;
  if (training) {
    ({ mean, variance } = tf.moments(z, 0));
    stats.push({ layer: l, mean, variance, rows: z.shape[0] });
  }
  return tf.relu(tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, BN_EPS))), l.bn.gamma), l.b)) as TF.Tensor2D;
}

type MatMul = (x: TF.Tensor2D, W: TF.Tensor2D) => TF.Tensor2D;

/**
 * x W with a gradient that transposes explicitly and then multiplies plainly: wasm's transposed
 * matMul, which autograd's own gradient uses, is ~15x slower (DESIGN §6).
 */
export function plainMatMul(tf: typeof TF): MatMul {
  const forward = (x: TF.Tensor2D, W: TF.Tensor2D, save: TF.GradSaveFunc) => {
    save([x, W]);
    return {
      value: tf.matMul(x, W),
      gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => {
        const [xs, Ws] = saved as TF.Tensor2D[];
        return [tf.matMul(dy as TF.Tensor2D, tf.transpose(Ws)), tf.matMul(tf.transpose(xs), dy as TF.Tensor2D)];
      },
    };
  };
  // customGrad's declared type cannot express a fixed arity with the save function last.
  const op = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x, W) => op(x, W) as TF.Tensor2D;
}

/** 3x3 'same' convolution as im2col: [B, H, W, Cin] -> [B, H, W, Cout]. */
export function conv3x3(tf: typeof TF, mm: MatMul, x: TF.Tensor4D, layer: Layer): TF.Tensor4D {
  const [B, H, W, Cin] = x.shape;
  const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const patches: TF.Tensor4D[] = [];
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) patches.push(tf.slice(padded, [0, dy, dx, 0], [B, H, W, Cin]));
  const cols = tf.reshape(tf.concat(patches, 3), [B * H * W, 9 * Cin]) as TF.Tensor2D;
  const out = tf.add(mm(cols, layer.W as unknown as TF.Tensor2D), layer.b);
  return tf.reshape(out, [B, H, W, layer.W.shape[1]!]) as TF.Tensor4D;
}

export function buildNet(tf: typeof TF, spec: NetSpec, seed: number): Net {
  const rng = new Rng(seed);
  const mm = plainMatMul(tf);
  const layers: Layer[] = [];
  let featureDim: number;
  let body: (x: TF.Tensor2D, training: boolean, stats: BatchStats[]) => TF.Tensor2D;
  if (spec.arch === 'mlp') {
    let fanIn = spec.d0;
    for (const [k, width] of spec.hidden.entries()) {
      layers.push(dense(tf, rng, `fc${k + 1}`, fanIn, width, 2, spec.batchNorm));
      fanIn = width;
    }
    featureDim = fanIn;
    body = (x, training, stats) => layers.reduce((h, l) => hiddenLayer(tf, mm, h, l, training, stats), x);
  } else {
    if (!spec.image || spec.image.length !== 3) throw new Error('the cnn needs image data ([height, width, channels] in data.json), e.g. the mnist stage');
    let [H, W, ch] = spec.image;
    const convs: Layer[] = [];
    for (const [k, out] of spec.channels.entries()) {
      convs.push(dense(tf, rng, `conv${k + 1}`, 9 * ch, out, 2));
      if (H < 2 || W < 2) throw new Error(`the image is too small for ${spec.channels.length} poolings`);
      [H, W, ch] = [Math.floor(H / 2), Math.floor(W / 2), out];
    }
    let fanIn = H * W * ch;
    const fcs: Layer[] = [];
    for (const [k, width] of spec.hidden.entries()) {
      fcs.push(dense(tf, rng, `fc${k + 1}`, fanIn, width, 2, spec.batchNorm));
      fanIn = width;
    }
    layers.push(...convs, ...fcs);
    featureDim = fanIn;
    const [H0, W0, C0] = spec.image;
    body = (x, training, stats) => {
      let img = tf.reshape(x, [x.shape[0], H0, W0, C0]) as TF.Tensor4D;
      for (const l of convs) img = tf.maxPool(tf.relu(conv3x3(tf, mm, img, l)), 2, 2, 'valid');
      const flat = tf.reshape(img, [x.shape[0], -1]) as TF.Tensor2D;
      return fcs.reduce((h, l) => hiddenLayer(tf, mm, h, l, training, stats), flat);
    };
  }
  const head = dense(tf, rng, 'classifier', featureDim, spec.classes, 1);
  return {
    layers,
    head,
    featureDim,
    trainable: [...layers, head].flatMap((l) => (l.bn ? [l.W, l.b, l.bn.gamma] : [l.W, l.b])),
    forward(x, training = false) {
      const stats: BatchStats[] = [];
      const features = body(x, training, stats);
      return { features, logits: tf.add(mm(features, head.W as unknown as TF.Tensor2D), head.b) as TF.Tensor2D, stats };
    },
    updateRunningStats(stats) {
      tf.tidy(() => {
        for (const s of stats) {
          const bn = s.layer.bn!;
          bn.mean.assign(tf.add(tf.mul(bn.mean, 1 - BN_MOMENTUM), tf.mul(s.mean, BN_MOMENTUM)));
          bn.variance.assign(tf.add(tf.mul(bn.variance, 1 - BN_MOMENTUM), tf.mul(s.variance, (BN_MOMENTUM * s.rows) / Math.max(1, s.rows - 1))));
        }
      });
    },
    dispose() {
      for (const l of [...layers, head]) tf.dispose([l.W, l.b, ...(l.bn ? [l.bn.gamma, l.bn.mean, l.bn.variance] : [])]);
    },
  };
}
