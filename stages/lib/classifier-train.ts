/**
 * Minibatch SGD on cross-entropy for a classifier (stages/lib/classifier-net.ts), as Papyan et al.
 * train: momentum, weight decay on every parameter (PyTorch's SGD: v ← m v + (∇p + wd p),
 * p ← p − lr v), the learning rate divided by 10 at given epochs. After every epoch the whole
 * training set is scored (so the epoch of zero training error is exact); at checkpoints the
 * penultimate features and the classifier are kept for the NC metrics.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { Rng } from '../../numerics/rng.ts';
import type { BatchStats, Net } from './classifier-net.ts';

export interface LabelledSet {
  X: Float32Array;
  labels: Int32Array;
  N: number;
}

export interface ClassifierTrainSpec {
  net: Net;
  train: LabelledSet;
  test?: LabelledSet;
  d0: number;
  classes: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Epochs after which the learning rate is divided by 10. */
  lrDrops: number[];
  checkpointEvery: number;
  /** Seed of the minibatch order. */
  shuffleSeed: number;
  onEpoch?(epoch: number, note: string): void;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  train_loss: number;
  train_error: number;
  test_error: number | null;
}

export interface Checkpoint extends EpochRecord {
  /** N x p penultimate features of the training set. */
  features: Float32Array;
  /** C x p (Papyan's W: one row per class) and C. */
  W: Float32Array;
  b: Float32Array;
}

interface Scores {
  features: Float32Array;
  loss: number;
  error: number;
}

/** Forward pass over a whole set in chunks; mean cross-entropy and error rate in float64. */
function score(tf: typeof TF, net: Net, set: LabelledSet, d0: number, C: number, keepFeatures: boolean): Scores {
  const chunk = 1024;
  const features = new Float32Array(keepFeatures ? set.N * net.featureDim : 0);
  let loss = 0;
  let wrong = 0;
  for (let start = 0; start < set.N; start += chunk) {
    const rows = Math.min(chunk, set.N - start);
    // tidy returns tensors, not arrays: it would walk a typed array's every element.
    const out = tf.tidy(() => {
      const o = net.forward(tf.tensor2d(set.X.subarray(start * d0, (start + rows) * d0), [rows, d0]));
      return { features: o.features, logits: o.logits };
    });
    const logits = out.logits.dataSync();
    if (keepFeatures) features.set(out.features.dataSync(), start * net.featureDim);
    tf.dispose([out.features, out.logits]);
    for (let i = 0; i < rows; i++) {
      const y = set.labels[start + i];
      let max = -Infinity;
      let arg = 0;
      for (let c = 0; c < C; c++) if (logits[i * C + c] > max) [max, arg] = [logits[i * C + c], c];
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(logits[i * C + c] - max);
      loss += Math.log(z) + max - logits[i * C + y];
      if (arg !== y) wrong++;
    }
  }
  return { features, loss: loss / set.N, error: wrong / set.N };
}

function shuffled(n: number, rng: Rng): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** One minibatch step of PyTorch's SGD on every trainable variable; batch-norm statistics updated. */
function sgdStep(tf: typeof TF, net: Net, velocity: TF.Variable[], xb: TF.Tensor2D, yb: TF.Tensor2D, o: { lr: number; momentum: number; weightDecay: number; first: boolean }): void {
  let stats: BatchStats[] = [];
  const { grads } = tf.variableGrads(() => {
    const out = net.forward(xb, true);
    // Kept past the gradient's scope for the running statistics' update below.
    stats = out.stats.map((b) => ({ ...b, mean: tf.keep(b.mean), variance: tf.keep(b.variance) }));
    return tf.losses.softmaxCrossEntropy(yb, out.logits) as TF.Scalar;
  }, net.trainable);
  net.trainable.forEach((p, k) => {
    const g = tf.add(grads[p.name], tf.mul(p, o.weightDecay));
    // PyTorch's first step sets the buffer to the gradient itself.
    const v = o.first ? g : tf.add(tf.mul(velocity[k], o.momentum), g);
    velocity[k].assign(v);
    p.assign(tf.sub(p, tf.mul(v, o.lr)));
  });
  net.updateRunningStats(stats);
  tf.dispose(stats.flatMap((b) => [b.mean, b.variance]));
}

export function trainClassifier(tf: typeof TF, s: ClassifierTrainSpec): { epochs: EpochRecord[]; checkpoints: Checkpoint[] } {
  const { net, train, d0, classes: C } = s;
  const velocity = net.trainable.map((p) => tf.variable(tf.zerosLike(p), false));
  const Xall = tf.tensor2d(train.X, [train.N, d0]);
  const onehot = tf.oneHot(tf.tensor1d(train.labels, 'int32'), C).toFloat();
  const rng = new Rng(s.shuffleSeed);
  const epochs: EpochRecord[] = [];
  const checkpoints: Checkpoint[] = [];
  let lr = s.lr;
  let step = 0;

  let reachedZero = false;
  const record = (epoch: number) => {
    // Features are scored for every epoch's error anyway: keeping them costs only the copy, and
    // a checkpoint at the first epoch of zero training error makes "from zero error" exact.
    const tr = score(tf, net, train, d0, C, true);
    const firstZero = tr.error === 0 && !reachedZero;
    reachedZero ||= tr.error === 0;
    const keep = epoch % s.checkpointEvery === 0 || epoch === s.epochs || firstZero;
    // The test set is scored at checkpoints only: it costs as much as the training set.
    const te = s.test && keep ? score(tf, net, s.test, d0, C, false) : undefined;
    const r: EpochRecord = { epoch, lr, train_loss: tr.loss, train_error: tr.error, test_error: te ? te.error : null };
    epochs.push(r);
    if (keep) {
      // Papyan's W is C x p: the transpose of the [p, C] weight the forward pass multiplies by.
      const Wt = tf.transpose(net.head.W);
      const W = Wt.dataSync() as Float32Array;
      Wt.dispose();
      checkpoints.push({ ...r, features: tr.features, W, b: net.head.b.dataSync() as Float32Array });
    }
    return r;
  };

  record(0);
  for (let epoch = 1; epoch <= s.epochs; epoch++) {
    const order = shuffled(train.N, rng);
    for (let start = 0; start < train.N; start += s.batchSize) {
      const idx = tf.tensor1d(order.subarray(start, Math.min(train.N, start + s.batchSize)), 'int32');
      tf.tidy(() => sgdStep(tf, net, velocity, tf.gather(Xall, idx) as TF.Tensor2D, tf.gather(onehot, idx) as TF.Tensor2D, { lr, momentum: s.momentum, weightDecay: s.weightDecay, first: step === 0 }));
      idx.dispose();
      step++;
    }
    const r = record(epoch);
    s.onEpoch?.(epoch, `epoch ${epoch}/${s.epochs}: loss ${r.train_loss.toExponential(2)}, train error ${(100 * r.train_error).toFixed(1)}%`);
    if (s.lrDrops.includes(epoch)) lr /= 10;
  }
  for (const v of [...velocity, Xall, onehot]) v.dispose();
  return { epochs, checkpoints };
}
