/** The 2-layer net against the original code, from its stored initial weights, on every training backend here. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ortInstalled } from '../../numerics/ort.ts';
import { Rng } from '../../numerics/rng.ts';
import { trainBackend, trainEnv, trainOnBackend, type TrainBackend } from '../../stages/lib/train-backend.ts';
import { loadReference, relErr } from '../helpers/reference.ts';

const ref = loadReference('fcn_N128_d2_h100_erf.json');
const st = ref.settings;
const f32 = (rows: number[][]) => Float32Array.from(rows.flat());

const run = (backend: TrainBackend, momentum = st.momentum, probeEvery = 1) => {
  const w = ref.initial_weights;
  return trainOnBackend(
    {
      X: f32(ref.X_train_order),
      y: Float32Array.from(ref.y_train_order),
      probeX: f32(ref.X_blocks),
      N: st.N,
      d0: st.in_features,
      h: st.hidden_features,
      activation: 'erf',
      lr: st.lr,
      epochs: st.num_epochs,
      weightDecay: st.weight_decay,
      momentum,
      probeEvery,
      classSizes: st.class_sizes,
      init: { W1: f32(w['first_layer.weight']), b1: Float32Array.from(w['first_layer.bias']), W2: f32(w['final_layer.weight']), b2: w['final_layer.bias'][0] },
    },
    backend,
  );
};

const backends: TrainBackend[] = ortInstalled() ? ['ort', 'wasm'] : ['wasm'];
if (process.env.CI && !ortInstalled()) test('CI trains on ONNX Runtime', () => assert.unreachable('onnxruntime-node missing in CI'));

for (const b of backends) {
  test(`${b}: loss per epoch within 1e-5 of the original (float32) for all 200 epochs; final hidden NC1 within 1e-5`, async () => {
    const r = await run(b);
    const expected: number[] = ref.float32_as_repo.loss;
    assert.is(r.loss.length, 200);
    let worst = 0;
    r.loss.forEach((l, e) => (worst = Math.max(worst, relErr(l, expected[e]))));
    assert.ok(worst < 1e-5, `worst relative loss error ${worst}`);
    const nc1 = r.probes[r.probes.length - 1].hidden.trace_S_W_div_S_B;
    assert.ok(relErr(nc1, ref.float32_as_repo.final_hidden_nc1) < 1e-5, `final hidden NC1 ${nc1} vs ${ref.float32_as_repo.final_hidden_nc1}`);
    assert.ok(relErr(r.finalLoss, ref.float32_as_repo.final_loss_after_last_step) < 1e-5);
    const perEpoch: number[] = ref.float32_as_repo.hidden_nc1_trace_S_W_div_S_B;
    r.probes.forEach((p) => assert.ok(relErr(p.hidden.trace_S_W_div_S_B, perEpoch[p.epoch]) < 1e-4, `epoch ${p.epoch}`));
  });

  test(`${b}: two runs with the same initial weights are bitwise identical`, async () => {
    const a = await run(b);
    const c = await run(b);
    assert.equal(a.loss, c.loss);
    assert.equal(Array.from(a.weights.W1), Array.from(c.weights.W1));
  });
}

if (backends.includes('ort')) {
  test('ort: epochs per ONNX Loop call change no bit (1 per call, as the probes force, vs 100)', async () => {
    for (const m of [0, 0.9]) {
      const single = await run('ort', m, 1);
      const chunked = await run('ort', m, 1000);
      assert.equal(chunked.loss, single.loss);
      assert.equal(Array.from(chunked.weights.W1), Array.from(single.weights.W1));
      assert.is(chunked.weights.b2, single.weights.b2);
    }
  });

  test('ort and wasm apply momentum alike (heavy ball, PyTorch convention): weights within 1e-5 after 200 epochs', async () => {
    const a = await run('ort', 0.9);
    const c = await run('wasm', 0.9);
    let worst = 0;
    a.weights.W1.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - c.weights.W1[i]))));
    assert.ok(worst < 1e-5, String(worst));
    a.loss.forEach((l, e) => assert.ok(relErr(l, c.loss[e]) < 1e-5, `epoch ${e}`));
    assert.not.equal(a.loss, (await run('ort', 0)).loss);
  });
}

if (backends.includes('ort')) {
  // Why ort_threads is in the training key: at this shape 3 intra-op threads give other bits than
  // 1 (and 2 and 4), deterministically, although each GEMM, reduction and elementwise op of the
  // graph alone gives the same bits at 1–4 threads (measured; the fused graph splits differently).
  // Should this start failing (an ORT whose training bits never depend on the count), the count
  // could leave the key.
  test('ort: the intra-op thread count changes the training graph\'s bits (N = 1024, d0 = 128, h = 500)', async () => {
    const [N, d0, h] = [1024, 128, 500];
    const rng = new Rng(3);
    const spec = {
      X: Float32Array.from(rng.fillNormal(new Float64Array(N * d0))),
      y: new Float32Array(N).map((_, i) => (i < N / 2 ? -1 : 1)),
      N, d0, h,
      activation: 'erf' as const, lr: 1e-3, epochs: 3, weightDecay: 1e-6, momentum: 0, probeEvery: 1000, classSizes: [N / 2, N / 2],
      init: { W1: Float32Array.from(rng.fillNormal(new Float64Array(h * d0), 0, 1 / Math.sqrt(d0))), b1: new Float32Array(h), W2: Float32Array.from(rng.fillNormal(new Float64Array(h), 0, 1.97 / Math.sqrt(h))), b2: 0 },
    };
    const saved = process.env.PIPELINE_ORT_THREADS;
    const weights = async (t: number) => {
      process.env.PIPELINE_ORT_THREADS = String(t);
      return Array.from((await trainOnBackend(spec, 'ort')).weights.W1);
    };
    try {
      const one = await weights(1);
      assert.equal(await weights(1), one, 'reruns on 1 thread');
      const three = await weights(3);
      assert.equal(await weights(3), three, 'reruns on 3 threads');
      assert.not.equal(three, one, '3 threads gave the same bits as 1');
    } finally {
      if (saved === undefined) delete process.env.PIPELINE_ORT_THREADS;
      else process.env.PIPELINE_ORT_THREADS = saved;
    }
  });
}

test('the backend and, on ort, its thread count are in the key; PIPELINE_TRAIN_BACKEND forces one', () => {
  const saved = { ...process.env };
  try {
    process.env.PIPELINE_TRAIN_BACKEND = 'wasm';
    assert.is(trainBackend(), 'wasm');
    assert.is(trainEnv().train_backend, 'wasm');
    process.env.PIPELINE_TRAIN_BACKEND = 'gpu';
    assert.throws(() => trainBackend(), /PIPELINE_TRAIN_BACKEND/);
    delete process.env.PIPELINE_TRAIN_BACKEND;
    if (ortInstalled()) {
      assert.is(trainBackend(), 'ort');
      process.env.PIPELINE_ORT_THREADS = '1';
      const one = trainEnv();
      process.env.PIPELINE_ORT_THREADS = '3';
      assert.is(one.ort_threads, '1');
      assert.is(trainEnv().ort_threads, '3');
      assert.ok(one.ort && one.ort_isa);
    }
  } finally {
    process.env = saved;
  }
});

test.run();
