/** The classifier network and its training loop, on tiny problems. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type * as TF from '@tensorflow/tfjs-core';
import { buildNet, conv3x3, plainMatMul, type Layer } from '../../stages/lib/classifier-net.ts';
import { trainClassifier, type LabelledSet } from '../../stages/lib/classifier-train.ts';
import { loadTf } from '../../stages/lib/tfjs.ts';
import { Rng } from '../../numerics/rng.ts';

/** C Gaussian blobs in d dimensions, class-block order. */
function blobs(C: number, perClass: number, d: number, seed: number): LabelledSet {
  const rng = new Rng(seed);
  const X = new Float32Array(C * perClass * d);
  const labels = new Int32Array(C * perClass);
  for (let i = 0; i < C * perClass; i++) {
    labels[i] = Math.floor(i / perClass);
    for (let t = 0; t < d; t++) X[i * d + t] = (t % C === labels[i] ? 2 : 0) + rng.normal();
  }
  return { X, labels, N: C * perClass };
}

const train = (tf: typeof TF, batchNorm: boolean, arch: 'mlp' | 'cnn' = 'mlp') => {
  const d = arch === 'cnn' ? 36 : 12;
  const set = blobs(3, 20, d, 1);
  const net = buildNet(tf, { arch, hidden: [16, 16], channels: [4], d0: d, image: [6, 6, 1], classes: 3, batchNorm }, 7);
  const r = trainClassifier(tf, { net, train: set, d0: d, classes: 3, epochs: 12, batchSize: 15, lr: 0.05, momentum: 0.9, weightDecay: 5e-4, lrDrops: [4, 8], checkpointEvery: 6, shuffleSeed: 8 });
  net.dispose();
  return r;
};

test('the im2col convolution equals tf.conv2d with same padding, and its gradient flows', async () => {
  const tf = await loadTf();
  const rng = new Rng(3);
  const x = tf.tensor4d(Float32Array.from(rng.fillNormal(new Float64Array(2 * 5 * 6 * 3))), [2, 5, 6, 3]);
  const w = Float32Array.from(rng.fillNormal(new Float64Array(27 * 4)));
  const layer = { name: 'c', W: tf.variable(tf.tensor2d(w, [27, 4])), b: tf.variable(tf.tensor1d([0.1, -0.2, 0.3, 0])) } as Layer;
  const mine = conv3x3(tf, plainMatMul(tf), x, layer).dataSync();
  // im2col rows are (dy, dx, channel): exactly tf's filter layout [3, 3, Cin, Cout].
  const ref = tf.add(tf.conv2d(x, tf.tensor4d(w, [3, 3, 3, 4]), 1, 'same'), layer.b).dataSync();
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(mine[i] - ref[i]));
  assert.ok(worst < 1e-5, `max difference ${worst}`);
  const { grads } = tf.variableGrads(() => tf.sum(tf.square(conv3x3(tf, plainMatMul(tf), x, layer))) as TF.Scalar, [layer.W]);
  assert.ok(tf.sum(tf.abs(grads[layer.W.name])).dataSync()[0] > 0);
});

for (const [arch, bn] of [['mlp', false], ['mlp', true], ['cnn', true]] as const) {
  test(`${arch}${bn ? ' with batch norm' : ''}: training fits the blobs, checkpoints have the right shapes, and a rerun is bitwise identical`, async () => {
    const tf = await loadTf();
    const a = train(tf, bn, arch);
    assert.ok(a.epochs[a.epochs.length - 1].train_loss < 0.5 * a.epochs[0].train_loss, 'loss fell');
    assert.is(a.epochs.length, 13);
    const last = a.checkpoints[a.checkpoints.length - 1];
    assert.is(last.epoch, 12);
    assert.is(last.features.length, 60 * 16);
    assert.is(last.W.length, 3 * 16);
    assert.is(last.b.length, 3);
    const b = train(tf, bn, arch);
    assert.equal(Array.from(b.checkpoints[b.checkpoints.length - 1].features), Array.from(last.features));
    assert.equal(b.epochs, a.epochs);
  });
}

test('the learning rate is divided by 10 after each drop epoch', async () => {
  const tf = await loadTf();
  const lrs = train(tf, false).epochs.map((e) => e.lr);
  assert.is(lrs[1], 0.05);
  assert.ok(Math.abs(lrs[5] - 0.005) < 1e-12 && Math.abs(lrs[9] - 0.0005) < 1e-12, lrs.join(','));
});

test.run();
