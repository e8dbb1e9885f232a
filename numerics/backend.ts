/**
 * The linear-algebra backend: OpenBLAS through build/Release/linalg.node when it loads, else ONNX
 * Runtime's float64 GEMMs (numerics/ort-linalg.ts) when onnxruntime-node loads, else pure
 * TypeScript. PIPELINE_LINALG=native|ort|js forces one (a forced backend that cannot load is an
 * error, not a silent fallback). Stages that use it put `backend().env` in their env, so backends
 * never share cache entries (their last bits differ).
 */
import { existsSync } from 'node:fs';
import { registerKeyFacts } from '../engine/stage-api.ts';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gramLower as gramLowerJs, multiplyABt as multiplyABtJs, productLower, transpose } from './gram.ts';
import { choleskyInPlace, inverseGeneral as inverseGeneralJs, inverseSPD as inverseSPDJs, multiply as multiplyJs, multiplyTransposeA as multiplyTransposeAJs } from './linalg.ts';
import { matrix, mirrorLower, type Matrix } from './matrix.ts';
import { ortInstalled, requireOrt } from './ort.ts';
import { ortLinalgFactory } from './ort-linalg.ts';
import { withThreads as withJsThreads } from './parallel.ts';

export interface Linalg {
  name: 'js' | 'native' | 'ort';
  /** What changes the last bits of results: goes into node keys' env. */
  env: Record<string, string>;
  /** A⁻¹ of a symmetric positive definite A (full matrix). */
  inverseSPD(A: Matrix): Matrix;
  /** A⁻¹ of an SPD A read from its lower triangle; only the result's lower triangle is exact. A may be overwritten. */
  inverseSPDLower(A: Matrix): Matrix;
  /** The Cholesky factor L (lower, upper triangle zero) of an SPD A read from its lower triangle; undefined if A is not SPD. */
  choleskyLower(A: Matrix): Matrix | undefined;
  /** A⁻¹ of a small general square matrix (Gauss–Jordan with partial pivoting on every backend). */
  inverseGeneral(A: Matrix): Matrix;
  /** A B with A symmetric, given by its lower triangle (A's upper triangle may be overwritten). */
  symmetricTimes(A: Matrix, B: Matrix): Matrix;
  /** shift + scale X Xᵀ; the lower triangle is exact, the upper may be anything. */
  gramLower(X: Matrix, scale: number, shift: number): Matrix;
  /** A Bᵀ (full). */
  multiplyABt(A: Matrix, B: Matrix): Matrix;
  /** Aᵀ B (full). */
  multiplyAtB(A: Matrix, B: Matrix): Matrix;
  /** A B (full). */
  multiply(A: Matrix, B: Matrix): Matrix;
  /** A Bᵀ where the result is known to be symmetric; the lower triangle is exact. */
  symmetricABtLower(A: Matrix, B: Matrix): Matrix;
  /**
   * Runs fn with n threads per operation. Native: n BLAS threads, which changes the last bits and
   * is process-wide, while pipeline workers are threads of one process: for single-job programs
   * such as the bench only. TS: exactly n threads instead of the idle cores it would borrow (the
   * bits are the same either way).
   */
  withThreads<T>(n: number, fn: () => T): T;
}

interface Addon {
  inverseSPD(a: Float64Array, n: number): number;
  inverseSPDLower(a: Float64Array, n: number): number;
  symmLower(a: Float64Array, m: number, n: number, b: Float64Array, c: Float64Array): void;
  syrkLower(x: Float64Array, n: number, d: number, alpha: number, c: Float64Array): void;
  gemm(ta: boolean, tb: boolean, m: number, n: number, k: number, alpha: number, a: Float64Array, b: Float64Array, beta: number, c: Float64Array): void;
  setThreads(n: number): void;
}

/** TS Cholesky for the backends without a blocked one of their own (the addon has no bare potrf). */
function choleskyLowerJs(A: Matrix): Matrix | undefined {
  const n = A.rows;
  const L = Float64Array.from(A.data);
  if (!choleskyInPlace(L, n)) return undefined;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) L[i * n + j] = 0;
  return matrix(n, n, L);
}

export const jsLinalg: Linalg = {
  name: 'js',
  env: { linalg: 'js' },
  inverseSPD: inverseSPDJs,
  inverseSPDLower: inverseSPDJs,
  choleskyLower: choleskyLowerJs,
  inverseGeneral: inverseGeneralJs,
  symmetricTimes: (A, B) => multiplyABtJs(mirrorLower(A), transpose(B)),
  gramLower: gramLowerJs,
  multiplyABt: multiplyABtJs,
  multiplyAtB: multiplyTransposeAJs,
  multiply: multiplyJs,
  symmetricABtLower: (A, B) => productLower(A, B, 1, 0),
  withThreads: withJsThreads,
};

function nativeLinalg(addon: Addon): Linalg {
  // One thread per node by default: the scheduler already runs one node per core, and OpenBLAS
  // results change in the last bits with the thread count (measured), so it is part of the key.
  const threads = Number(process.env.PIPELINE_BLAS_THREADS ?? 1);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`PIPELINE_BLAS_THREADS must be a whole number >= 1, got "${process.env.PIPELINE_BLAS_THREADS}"`);
  addon.setThreads(threads);
  const gemm = (ta: boolean, tb: boolean, A: Matrix, B: Matrix, m: number, n: number, k: number) => {
    const C = matrix(m, n);
    addon.gemm(ta, tb, m, n, k, 1, A.data, B.data, 0, C.data);
    return C;
  };
  return {
    name: 'native',
    env: { linalg: 'native', blas_threads: String(threads) },
    inverseSPD(A) {
      const out = matrix(A.rows, A.cols, Float64Array.from(A.data));
      const info = addon.inverseSPD(out.data, A.rows);
      if (info !== 0) throw new RangeError(`matrix is not symmetric positive definite (LAPACK info ${info})`);
      return out;
    },
    inverseSPDLower(A) {
      const info = addon.inverseSPDLower(A.data, A.rows);
      if (info !== 0) throw new RangeError(`matrix is not symmetric positive definite (LAPACK info ${info})`);
      return A;
    },
    choleskyLower: choleskyLowerJs,
    inverseGeneral: inverseGeneralJs,
    symmetricTimes(A, B) {
      const C = matrix(A.rows, B.cols);
      addon.symmLower(A.data, A.rows, B.cols, B.data, C.data);
      return C;
    },
    gramLower(X, scale, shift) {
      const K = matrix(X.rows, X.rows);
      addon.syrkLower(X.data, X.rows, X.cols, scale, K.data);
      if (shift !== 0) for (let i = 0; i < X.rows; i++) for (let j = 0; j <= i; j++) K.data[i * X.rows + j] += shift;
      return K;
    },
    multiplyABt: (A, B) => gemm(false, true, A, B, A.rows, B.rows, A.cols),
    multiplyAtB: (A, B) => gemm(true, false, A, B, A.cols, B.cols, A.rows),
    multiply: (A, B) => gemm(false, false, A, B, A.rows, B.cols, A.cols),
    symmetricABtLower: (A, B) => gemm(false, true, A, B, A.rows, B.rows, A.cols),
    withThreads(n, fn) {
      addon.setThreads(n);
      try {
        return fn();
      } finally {
        addon.setThreads(threads);
      }
    },
  };
}

function findAddon(): string | undefined {
  // From numerics/ (tests) or .build/stages/ (bundled stages): walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'build', 'Release', 'linalg.node');
    if (existsSync(file)) return file;
    dir = dirname(dir);
  }
  return undefined;
}

let chosen: Linalg | undefined;
let ortBackend: Linalg | null | undefined;

/**
 * The ONNX Runtime backend, or undefined where onnxruntime-node is not installed for this
 * platform. ORT itself loads at the first operation (an error then if its binary does not load).
 */
export function loadOrtLinalg(): Linalg | undefined {
  if (ortBackend === undefined) {
    const installed = ortInstalled();
    ortBackend = installed ? ortLinalgFactory(installed.version, requireOrt) : null;
  }
  return ortBackend ?? undefined;
}

export function loadNative(): Linalg | undefined {
  const file = findAddon();
  if (!file) return undefined;
  try {
    return nativeLinalg(createRequire(import.meta.url)(file) as Addon);
  } catch {
    return undefined;
  }
}

/** Runs fn with a given backend (tests compare the two on the same inputs). */
export function withBackend<T>(l: Linalg, fn: () => T): T {
  const before = chosen;
  chosen = l;
  try {
    return fn();
  } finally {
    chosen = before;
  }
}

/** The backend of this process: PIPELINE_LINALG, else OpenBLAS, else ORT, else TypeScript. */
export function backend(): Linalg {
  if (chosen) return chosen;
  const want = process.env.PIPELINE_LINALG ?? 'auto';
  if (want === 'js') return (chosen = jsLinalg);
  if (want === 'ort') {
    const ort = loadOrtLinalg();
    if (!ort) throw new Error(`PIPELINE_LINALG=ort, but onnxruntime-node is not installed for ${process.platform}-${process.arch} (or PIPELINE_ORT=off)`);
    return (chosen = ort);
  }
  const native = loadNative();
  if (want === 'native' && !native) throw new Error('PIPELINE_LINALG=native, but the OpenBLAS addon is not built (apt-get install libopenblas-dev, then npm run build:native)');
  if (want !== 'native' && want !== 'auto') throw new Error(`PIPELINE_LINALG must be native, ort, js or auto, got "${want}"`);
  return (chosen = native ?? loadOrtLinalg() ?? jsLinalg);
}

// Every stage whose imports reach this module gets the backend in its node keys (stage-api.ts).
registerKeyFacts('linear algebra', () => backend().env);
