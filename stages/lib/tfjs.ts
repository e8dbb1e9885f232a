/**
 * TensorFlow.js for training stages: @tensorflow/tfjs-node when it is installed and loads (an
 * optional dependency: its install downloads a binary, which fails on machines without internet),
 * else @tensorflow/tfjs with the wasm backend (its .wasm files ship in the npm package), else cpu.
 * PIPELINE_TFJS_BACKEND=node|wasm|cpu forces one.
 *
 * The backend is part of node keys (registered key facts), read in the scheduler's thread, where
 * loading tfjs would cost a no-op run ~0.2 s: so the expected backend is decided from what is
 * installed, and the stage refuses to train on any other one (a result is never filed under the
 * wrong key).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import { registerKeyFacts } from '../../engine/stage-api.ts';

export type TfjsBackend = 'tensorflow' | 'wasm' | 'cpu';

const require = createRequire(import.meta.url);

function resolvePackage(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

export function expectedBackend(): TfjsBackend {
  const forced = process.env.PIPELINE_TFJS_BACKEND;
  if (forced === 'node') return 'tensorflow';
  if (forced === 'wasm' || forced === 'cpu') return forced;
  if (forced) throw new Error(`PIPELINE_TFJS_BACKEND must be node, wasm or cpu, got "${forced}"`);
  const nodeDir = resolvePackage('@tensorflow/tfjs-node');
  // tfjs-node is usable only when its native binding was actually installed.
  if (nodeDir && existsSync(join(nodeDir, 'lib'))) return 'tensorflow';
  return 'wasm';
}

/** The installed tfjs-core version, or 'missing'. */
export function tfjsVersion(): string {
  const dir = resolvePackage('@tensorflow/tfjs-core');
  return dir ? String(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version) : 'missing';
}

export function tfjsEnv(backend: TfjsBackend = expectedBackend()): Record<string, string> {
  return { tfjs: tfjsVersion(), tfjs_backend: backend };
}

// Every stage that imports this module gets the tfjs version and backend in its node keys.
registerKeyFacts('tfjs', tfjsEnv);

const loaded = new Map<TfjsBackend, Promise<typeof TF>>();

/** The tf namespace, ready on backend `want` (default: the expected one). */
export function loadTf(want: TfjsBackend = expectedBackend()): Promise<typeof TF> {
  let p = loaded.get(want);
  if (!p) {
    p = load(want);
    loaded.set(want, p);
  }
  // tfjs's backend is global to the thread: another stage may have switched it since.
  return p.then(async (tf) => {
    if (tf.getBackend() !== want && !(await tf.setBackend(want))) throw new Error(`tfjs backend ${want} failed to initialise`);
    return tf;
  });
}

async function load(want: TfjsBackend): Promise<typeof TF> {
  if (want === 'tensorflow') {
    // tfjs-node brings its own tfjs-core instance: use its namespace, not a second copy.
    const tfn = (await import('@tensorflow/tfjs-node' as string)) as typeof TF;
    await tfn.ready();
    if (tfn.getBackend() !== 'tensorflow') throw new Error(`tfjs-node loaded but its backend is ${tfn.getBackend()}`);
    return tfn;
  }
  // The union package, not tfjs-core alone: only its bundle registers the gradients that the
  // classifier's autograd needs (tfjs-core's own are ES modules Node cannot load). It shares
  // tfjs-core's engine and kernels, so numbers are the same.
  const tf = (await import('@tensorflow/tfjs')) as unknown as typeof TF;
  if (want === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${join(resolvePackage('@tensorflow/tfjs-backend-wasm')!, 'dist')}/`);
  }
  // tfjs prints a hint to install tfjs-node; it cannot install here, so keep the log clean
  // (PROD, not IS_TEST: IS_TEST also turns on leak checks that reject softmaxCrossEntropy).
  tf.env().set('PROD', true);
  if (!(await tf.setBackend(want))) throw new Error(`tfjs backend ${want} failed to initialise`);
  await tf.ready();
  return tf;
}
