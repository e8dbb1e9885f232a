import { maxSquareSide, squareMatrixReason } from '../engine/memory.ts';
import { defineStage, f64, single, type InputHandle } from '../engine/stage-api.ts';
import { labelsFromSizes, readDataset, type Dataset } from './lib/dataset.ts';
import { buildNet } from './lib/classifier-net.ts';
import { trainClassifier, type LabelledSet } from './lib/classifier-train.ts';
import { expectedBackend, loadTf } from './lib/tfjs.ts';

/** Rows with their class index (rows are in class-block order). */
function labelled(d: Dataset): LabelledSet {
  const classIndex = Int32Array.from(labelsFromSizes(d.class_sizes, d.class_sizes.map((_, c) => c)));
  return { X: Float32Array.from(d.X.data), labels: classIndex, N: d.N };
}

function testSet(h: InputHandle | undefined, train: Dataset): LabelledSet | undefined {
  if (!h) return undefined;
  const d = readDataset(h);
  if (d.d0 !== train.d0 || d.class_sizes.length !== train.class_sizes.length) {
    throw new Error(`the test set (${h.id}) has d0 = ${d.d0} and ${d.class_sizes.length} classes; the training set has d0 = ${train.d0} and ${train.class_sizes.length}`);
  }
  return labelled(d);
}

export default defineStage({
  description:
    'C-class classifier (MLP or small CNN, tfjs float32) trained by minibatch SGD on cross-entropy past zero training error; penultimate features and the classifier at checkpoints',
  params: {
    arch: { type: 'string', enum: ['mlp', 'cnn'], default: 'mlp', doc: 'mlp: ReLU layers of widths `hidden`; cnn: 3x3 conv + 2x2 max-pool per `channels`, then ReLU layers `hidden`' },
    hidden: { type: 'integer[]', min: 1, max: maxSquareSide(), maxReason: squareMatrixReason('a width x width weight matrix'), default: [256, 256], doc: 'widths of the ReLU dense layers; the last one gives the penultimate features' },
    channels: { type: 'integer[]', min: 1, default: [16, 32], doc: 'cnn only: channels of each convolution' },
    batch_norm: { type: 'boolean', default: false, doc: "batch normalisation before each hidden dense layer's ReLU; features are taken with the running statistics" },
    epochs: { type: 'integer', min: 1, default: 150, doc: 'passes over the training set' },
    batch_size: { type: 'integer', min: 1, default: 128, doc: 'minibatch size' },
    lr: { type: 'number', greaterThan: 0, default: 0.05, doc: 'initial learning rate' },
    momentum: { type: 'number', min: 0, max: 0.999, default: 0.9, doc: 'momentum (PyTorch convention)' },
    weight_decay: { type: 'number', min: 0, default: 5e-4, doc: 'weight decay on every parameter' },
    lr_drops: { type: 'number[]', min: 0, max: 1, default: [1 / 3, 2 / 3], doc: 'fractions of training after which the learning rate is divided by 10' },
    checkpoint_every: { type: 'integer', min: 1, default: 5, doc: 'keep features and classifier every this many epochs (and at 0, at the first epoch of zero training error, and at the end)' },
    seed: { type: 'integer', min: 0, doc: 'seed of the initial weights and of the minibatch order' },
  },
  inputs: {
    data: { doc: 'training set (a dataset node, rows in class-block order, ≥ 3 classes)', needs: ['X.f64', 'y.f64', 'data.json'] },
    test: { doc: 'test set of the same shape (for test accuracy)', optional: true, needs: ['X.f64', 'y.f64', 'data.json'] },
  },
  async run({ params: p, inputs, progress, log }) {
    const dataIn = single(inputs.data, 'data');
    const train = readDataset(dataIn);
    const C = train.class_sizes.length;
    if (C < 3) throw new Error(`${dataIn.id}: ${C} classes; neural-collapse metrics need at least 3`);
    const tf = await loadTf();
    if (tf.getBackend() !== expectedBackend()) throw new Error(`tfjs runs on ${tf.getBackend()}, but the node key says ${expectedBackend()}`);
    const net = buildNet(tf, { arch: p.arch, hidden: p.hidden, channels: p.channels, batchNorm: p.batch_norm, d0: train.d0, image: train.image, classes: C }, p.seed);
    const start = performance.now();
    const drops = [...new Set(p.lr_drops.map((f) => Math.round(f * p.epochs)))].filter((e) => e > 0 && e < p.epochs);
    const r = trainClassifier(tf, {
      net,
      train: labelled(train),
      test: testSet(inputs.test ? single(inputs.test, 'test') : undefined, train),
      d0: train.d0,
      classes: C,
      epochs: p.epochs,
      batchSize: p.batch_size,
      lr: p.lr,
      momentum: p.momentum,
      weightDecay: p.weight_decay,
      lrDrops: drops,
      checkpointEvery: p.checkpoint_every,
      shuffleSeed: p.seed + 1,
      onEpoch: (e, note) => progress(e / p.epochs, note),
    });
    net.dispose();
    const seconds = (performance.now() - start) / 1000;
    log(`${p.epochs} epochs in ${seconds.toFixed(1)} s on tfjs ${tf.getBackend()}`);
    const K = r.checkpoints.length;
    const dim = net.featureDim;
    const features = new Float64Array(K * train.N * dim);
    const classifier = new Float64Array(K * C * (dim + 1));
    r.checkpoints.forEach((c, k) => {
      features.set(c.features, k * train.N * dim);
      for (let a = 0; a < C; a++) {
        classifier.set(c.W.subarray(a * dim, (a + 1) * dim), (k * C + a) * (dim + 1));
        classifier[(k * C + a) * (dim + 1) + dim] = c.b[a];
      }
    });
    const zero = r.epochs.find((e) => e.train_error === 0);
    const last = r.epochs[r.epochs.length - 1];
    return {
      'epochs.json': r.epochs,
      'checkpoints.json': r.checkpoints.map(({ features: _f, W: _w, b: _b, ...rest }) => rest),
      'features.f64': f64([K, train.N, dim], features),
      'classifier.f64': f64([K, C, dim + 1], classifier),
      'stats.json': {
        arch: p.arch,
        N: train.N,
        d0: train.d0,
        classes: C,
        class_sizes: train.class_sizes,
        feature_dim: dim,
        epochs: p.epochs,
        lr_drop_epochs: drops,
        zero_error_epoch: zero ? zero.epoch : null,
        final_train_error: last.train_error,
        final_test_error: last.test_error,
        final_train_loss: last.train_loss,
      },
    };
  },
});
