/**
 * Where the `train` stage's 2-layer net trains: ONNX Runtime (`ort`) when onnxruntime-node is
 * installed for this platform, else TensorFlow.js as stages/lib/tfjs.ts picks it (tfjs-node when
 * installed, else wasm, else cpu). PIPELINE_TRAIN_BACKEND=ort|node|wasm|cpu forces one.
 *
 * The choice is made from what is installed, without loading anything: trainEnv() runs in the
 * scheduler's thread for every node key. The worker then trains on exactly that backend or fails
 * (a result is never filed under a key naming another backend).
 *
 * What goes into the key: the backend; for ort its version, the ISA its kernels dispatch to, and
 * the intra-op thread count, which changes bits of the training graph (measured: 3 threads gave
 * other bits than 1, 2 and 4 at N = 1024, d0 = 128, h = 500, while every GEMM and reduction of
 * the graph alone was identical at 1–4 threads: the elementwise kernels split differently);
 * for tfjs its version and backend.
 */
import { ortInstalled, ortIsa, ortThreads, ortUnavailable, loadOrt } from '../../numerics/ort.ts';
import { trainFcn, type TrainResult, type TrainSpec } from './fcn.ts';
import { trainFcnOrt } from './fcn-ort.ts';
import { registerKeyFacts } from '../../engine/stage-api.ts';
import { expectedBackend, loadTf, type TfjsBackend } from './tfjs.ts';

export type TrainBackend = 'ort' | TfjsBackend;

const FORCED: Record<string, TrainBackend> = { ort: 'ort', node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

/** The backend this process trains on (see the module comment). */
export function trainBackend(): TrainBackend {
  const forced = process.env.PIPELINE_TRAIN_BACKEND;
  if (forced) {
    const b = FORCED[forced];
    if (!b) throw new Error(`PIPELINE_TRAIN_BACKEND must be ort, node, wasm or cpu, got "${forced}"`);
    return b;
  }
  return ortInstalled() ? 'ort' : expectedBackend();
}

/** The facts that change a trained net's bits: node keys' env of the train stage. */
export function trainEnv(): Record<string, string> {
  const b = trainBackend();
  // On tfjs, its version comes with the 'tfjs' facts of tfjs.ts (imported here, so registered).
  if (b !== 'ort') return { train_backend: b };
  return { train_backend: 'ort', ort: ortInstalled()?.version ?? 'missing', ort_isa: ortIsa(), ort_threads: String(ortThreads()) };
}

// Every stage that trains through this module gets the training backend in its node keys.
registerKeyFacts('training', trainEnv);

/** A short description for the node's log: which path ran. */
export function describeTrainBackend(b: TrainBackend = trainBackend()): string {
  if (b === 'ort') return `ONNX Runtime ${ortInstalled()?.version ?? ''} (float32, ${ortThreads()} intra-op thread${ortThreads() > 1 ? 's' : ''}, ${ortIsa()})`;
  return `TensorFlow.js ${b === 'tensorflow' ? 'node' : b} (float32)`;
}

/** Trains on the key's backend, or throws saying why it cannot. */
export async function trainOnBackend(spec: TrainSpec, b: TrainBackend = trainBackend()): Promise<TrainResult> {
  if (b === 'ort') {
    if (!loadOrt()) throw new Error(`the node key says ort, but onnxruntime-node does not load here: ${ortUnavailable()} (PIPELINE_TRAIN_BACKEND=wasm trains on tfjs)`);
    return trainFcnOrt(spec);
  }
  const tf = await loadTf(b);
  if (tf.getBackend() !== b) throw new Error(`tfjs runs on ${tf.getBackend()}, but the node key says ${b}`);
  return trainFcn(tf, spec);
}
