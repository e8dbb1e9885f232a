/**
 * ONNX Runtime (onnxruntime-node), loaded on first use and synchronously: the package's public
 * InferenceSession.run is a Promise around a synchronous native call (setImmediate), and the
 * float64 linear algebra that uses it is synchronous all the way up (Newton–Krylov), so sessions
 * are driven through the package's own binding (dist/binding.js), which its public API wraps.
 *
 * loadOrt() returns undefined, with the reason in ortUnavailable(), where the package or its
 * native binary cannot load (an unsupported platform): callers then take today's paths.
 * PIPELINE_ORT=off makes it unavailable (to test and run those paths on a machine that has it).
 *
 * One InferenceSession per (graph, intra-op thread count), built once and cached for the life of
 * the thread; graphs use symbolic dimensions where one session can serve every size.
 */
import { existsSync, readFileSync } from 'node:fs';
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
  dispose(): void;
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

/** Sessions kept per thread (graphs of the linear algebra: 7; of training: 2 per net shape). */
const MAX_SESSIONS = 24;

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
    // Most recently used last; the oldest is released past MAX_SESSIONS (each holds its own memory
    // arena, and a worker that trains many shapes would otherwise keep them all).
    const sessions = new Map<string, OrtSession & { inner: NativeSession }>();
    return {
      version,
      tensor: (type, data, dims) => new pkg.Tensor(type, data, dims),
      session(key, threads, build) {
        const id = `${key}@${threads}`;
        let s = sessions.get(id);
        if (s) {
          sessions.delete(id);
          sessions.set(id, s);
        } else {
          const inner = new native.binding.InferenceSession();
          const bytes = build();
          // Sequential execution, one inter-op thread: the graphs are chains, and a second pool
          // would only compete with the node running beside this one for the same cores.
          inner.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
            intraOpNumThreads: threads,
            interOpNumThreads: 1,
            executionMode: 'sequential',
            graphOptimizationLevel: 'all',
            // Pool threads (PIPELINE_ORT_THREADS > 1) sleep between runs instead of spinning, so
            // they take no core from the nodes beside this one while it is in JavaScript.
            extra: { session: { intra_op: { allow_spinning: '0' } } },
          });
          const fetches: Record<string, null> = {};
          for (const m of inner.outputMetadata) fetches[m.name] = null;
          s = { inner, run: (feeds) => inner.run(feeds, fetches, {}) };
          sessions.set(id, s);
          if (sessions.size > MAX_SESSIONS) {
            const [oldest, old] = sessions.entries().next().value!;
            sessions.delete(oldest);
            old.inner.dispose();
          }
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

let installed: { version: string } | null | undefined;

/**
 * onnxruntime-node as installed, without loading it: its version when the package and its native
 * binary for this platform are present, else undefined. Node keys' env is computed in the
 * scheduler's thread, where loading ORT would cost every run (even a no-op one) ~0.1–0.2 s; so
 * keys say 'ort' from what is installed, and the worker fails loudly if it then does not load.
 */
export function ortInstalled(): { version: string } | undefined {
  if (installed === undefined) {
    installed = null;
    if (process.env.PIPELINE_ORT !== 'off') {
      try {
        const dir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
        const binary = join(dir, 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node');
        if (existsSync(binary)) installed = { version: String(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version) };
      } catch {
        // not installed
      }
    }
  }
  return installed ?? undefined;
}

/** ONNX Runtime, or an error saying why it does not load (for backends that the key says run on ORT). */
export function requireOrt(): OrtRuntime {
  const ort = loadOrt();
  if (!ort) throw new Error(`onnxruntime-node does not load here: ${ortUnavailable()}`);
  return ort;
}

/**
 * The widest x86 vector ISA ORT's MLAS kernels dispatch to on this CPU (they pick AVX-512F,
 * AVX2+FMA, AVX or SSE2 kernels at start-up, with different blocking and fused multiply-adds):
 * the arithmetic, and so the last bits, may differ between them, and no knob forces one, so the
 * ISA is part of the keys of nodes computed on ORT. Other architectures: the architecture name.
 */
let isa: string | undefined;

export function ortIsa(): string {
  isa ??= detectIsa();
  return isa;
}

function detectIsa(): string {
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
