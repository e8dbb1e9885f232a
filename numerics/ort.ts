/**
 * ONNX Runtime (onnxruntime-node), loaded on first use and synchronously: the package's public
 * InferenceSession.run is a Promise around a synchronous native call (setImmediate), and the
 * float64 linear algebra that uses it is synchronous all the way up (Newton–Krylov), so sessions
 * are driven through the package's own binding (dist/binding.js), which its public API wraps.
 *
 * loadOrt() returns undefined, with the reason in ortUnavailable(), where the package or its
 * native binary cannot load (an unsupported platform): callers then take today's paths.
 *
 * One InferenceSession per (graph, intra-op thread count), built once and cached for the life of
 * the thread; graphs use symbolic dimensions where one session can serve every size.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type OrtData = Float32Array | Float64Array | BigInt64Array | Uint8Array;

export interface OrtTensor {
  readonly type: string;
  readonly data: OrtData;
  readonly dims: readonly number[];
}

interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: object): Record<string, OrtTensor>;
  readonly outputMetadata: { name: string }[];
}

interface Package {
  Tensor: new (type: string, data: OrtData, dims: readonly number[]) => OrtTensor;
}

interface BindingModule {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

export interface OrtSession {
  /** Runs the graph on feeds; returns every graph output by name. */
  run(feeds: Record<string, OrtTensor>): Record<string, OrtTensor>;
}

export interface OrtRuntime {
  version: string;
  tensor(type: 'float32' | 'float64' | 'int64', data: OrtData, dims: readonly number[]): OrtTensor;
  /** The cached session of graph `key` on `threads` intra-op threads; build() makes its model once. */
  session(key: string, threads: number, build: () => Uint8Array): OrtSession;
}

let loaded: OrtRuntime | null | undefined;
let failure = '';

function load(): OrtRuntime | null {
  if (process.env.PIPELINE_ORT === 'off') {
    failure = 'PIPELINE_ORT=off';
    return null;
  }
  try {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('onnxruntime-node/package.json'));
    const version = String(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version);
    const pkg = require('onnxruntime-node') as Package;
    const native = require(join(dir, 'dist', 'binding.js')) as BindingModule;
    native.initOrt();
    const sessions = new Map<string, OrtSession>();
    return {
      version,
      tensor: (type, data, dims) => new pkg.Tensor(type, data, dims),
      session(key, threads, build) {
        const id = `${key}@${threads}`;
        let s = sessions.get(id);
        if (!s) {
          const inner = new native.binding.InferenceSession();
          const bytes = build();
          // Sequential execution, one inter-op thread: the graphs are chains, and a second pool
          // would only compete with the node running beside this one for the same cores.
          inner.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
            intraOpNumThreads: threads,
            interOpNumThreads: 1,
            executionMode: 'sequential',
            graphOptimizationLevel: 'all',
          });
          const fetches: Record<string, null> = {};
          for (const m of inner.outputMetadata) fetches[m.name] = null;
          s = { run: (feeds) => inner.run(feeds, fetches, {}) };
          sessions.set(id, s);
        }
        return s;
      },
    };
  } catch (e) {
    failure = (e as Error).message.split('\n')[0];
    return null;
  }
}

/** ONNX Runtime, or undefined where it cannot load (see ortUnavailable()). */
export function loadOrt(): OrtRuntime | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

/** Why loadOrt() returned undefined ('' if it did not). */
export function ortUnavailable(): string {
  loadOrt();
  return failure;
}

/** The installed onnxruntime-node version without loading it (for node keys' env), or 'missing'. */
export function ortVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return String(JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')).version);
  } catch {
    return 'missing';
  }
}

/**
 * The widest x86 vector ISA ORT's MLAS kernels dispatch to on this CPU (they pick AVX-512F,
 * AVX2+FMA, AVX or SSE2 kernels at start-up, with different blocking and fused multiply-adds):
 * the arithmetic, and so the last bits, may differ between them, and no knob forces one, so the
 * ISA is part of the keys of nodes computed on ORT. Other architectures: the architecture name.
 */
export function ortIsa(): string {
  if (process.arch !== 'x64') return process.arch;
  let flags = '';
  try {
    flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  } catch {
    return 'x64-unknown';
  }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  if (has('avx512f') && has('avx512bw') && has('avx512vl') && has('avx512dq')) return 'avx512';
  if (has('avx2') && has('fma')) return 'avx2-fma';
  if (has('avx')) return 'avx';
  return 'sse2';
}

/** Intra-op threads per ORT session: PIPELINE_ORT_THREADS, default 1 (nodes already run one per core). */
export function ortThreads(): number {
  const raw = process.env.PIPELINE_ORT_THREADS ?? '1';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`PIPELINE_ORT_THREADS must be a whole number >= 1, got "${raw}"`);
  return n;
}
