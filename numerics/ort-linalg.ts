/**
 * The `ort` linear-algebra backend: float64 on ONNX Runtime, whose MLAS DGEMM is the fast path a
 * plain `npm install` gets (no OpenBLAS needed). Every O(n³) phase is a few large MatMul/Gemm
 * calls over blocks; only O(n·nb²) work on nb x nb diagonal blocks runs in TypeScript:
 *
 * - Cholesky, blocked left-looking: one GEMM updates the block column from the columns already
 *   factored; its diagonal block is factored (and L11⁻ᵀ formed) in TS; one GEMM gives the panel
 *   L21 = S21 L11⁻ᵀ.
 * - Lower-triangular inverse by block rows: Linv[I, :I] = −Linv[I,I] (L[I, :I] Linv[:I, :I]), the
 *   diagonal blocks' inverses being the ones the Cholesky already made; one MatMul per block
 *   column of the triangle, so its zeros are skipped.
 * - A⁻¹ = Linvᵀ Linv (LAPACK's potri = trtri + lauum), lower triangle by block rows:
 *   C[I, :I+1] = Linv[I:, I]ᵀ Linv[I:, :I+1], which skips the zeros of the triangular factors.
 *
 * The triangular solve of the panel is a product with the diagonal block's inverse, as in
 * blocked GPU Cholesky codes: for the well-conditioned diagonal blocks of SPD matrices this is
 * as accurate as a substitution (test/numerics/backend.test.ts compares all backends to 1e-12).
 * Never ORT's com.microsoft Inverse: an LU, 4x slower than this at N = 1024.
 */
import { choleskyInPlace, inverseGeneral as inverseGeneralJs } from './linalg.ts';
import { lowerInverseTransposeRows } from './row-kernels.ts';
import { matrix, mirrorLower, type Matrix } from './matrix.ts';
import { Graph } from './onnx-graph.ts';
import { ortIsa, ortThreads, type OrtRuntime, type OrtTensor } from './ort.ts';

/** Diagonal block size: 96 and 128 had the least CPU time at N = 1024 of 64, 96, 128, 192 and 256 (contended machine, process CPU time, best of 12). */
export const BLOCK = 128;

/** Y = op(A) op(B), any sizes: one session for all shapes. */
function gemmGraph(transA: boolean, transB: boolean): Uint8Array {
  const g = new Graph(`gemm_${+transA}${+transB}`);
  g.input('A', 'float64', ['a0', 'a1']);
  g.input('B', 'float64', ['b0', 'b1']);
  g.op('Gemm', ['A', 'B'], { transA: +transA, transB: +transB }, 'Y');
  g.output('Y', 'float64', ['m', 'n']);
  return g.model();
}

/** scale · X Xᵀ + shift (full; the lower triangle is what callers read). */
function gramGraph(): Uint8Array {
  const g = new Graph('gram');
  g.input('X', 'float64', ['n', 'd']);
  g.input('scale', 'float64', []);
  g.input('shift', 'float64', []);
  const p = g.op('Gemm', ['X', 'X'], { transB: 1 });
  g.op('Add', [g.op('Mul', [p, 'scale']), 'shift'], {}, 'Y');
  g.output('Y', 'float64', ['n', 'n']);
  return g.model();
}

/**
 * One left-looking Cholesky step: the block column k0..k0+k of A, rows k0 on, minus the product
 * of the factor's rows k0 on and its rows k0..k0+k over the columns already done:
 * S = A[k0:, k0:k0+k] − L[k0:, :k0] L[k0:k0+k, :k0]ᵀ. Arows and Lrows are rows k0 on of A and L.
 */
function choleskyPanelGraph(): Uint8Array {
  const g = new Graph('cholesky_panel');
  g.input('Arows', 'float64', ['r', 'n']);
  g.input('Lrows', 'float64', ['r', 'n']);
  for (const n of ['sa', 'ea', 'sl', 'el', 'sj', 'ej']) g.input(n, 'int64', [2]);
  const axes = g.constant([0, 1], 'int64', [2]);
  const Acol = g.op('Slice', ['Arows', 'sa', 'ea', axes]);
  const Lleft = g.op('Slice', ['Lrows', 'sl', 'el', axes]);
  const LJ = g.op('Slice', [Lleft, 'sj', 'ej', axes]);
  g.op('Gemm', [Lleft, LJ, Acol], { transB: 1, alpha: { f: -1 }, beta: { f: 1 } }, 'S');
  g.output('S', 'float64', ['r', 'k']);
  return g.model();
}

/** Past the end of any dimension: Slice clamps it. */
const END = 2 ** 62;

/**
 * Block row I (I ≥ 1) of a lower-triangular inverse: −D (L[I, :p] Linv[:p, :p]) with p = I·BLOCK,
 * both factors sliced from R, the first p + k rows of the n x n array whose first p rows already
 * hold the inverse and whose next k rows still hold L; D = L[I,I]⁻¹. Linv[:p, :p] is lower
 * triangular, so its block column J is multiplied only by its rows J·BLOCK on: one MatMul per
 * block column (the unrolled structure depends on I: one cached graph per block row), half the
 * multiply-adds of one product with the whole triangle.
 */
function triangularInverseRowGraph(I: number): Uint8Array {
  const g = new Graph(`trtri_row_${I}`);
  g.input('R', 'float64', ['pk', 'n']);
  g.input('D', 'float64', ['k', 'k']);
  const p = I * BLOCK;
  const axes = g.constant([0, 1], 'int64', [2]);
  const parts: string[] = [];
  for (let J = 0; J < I; J++) {
    const c0 = J * BLOCK;
    const Lpart = g.op('Slice', ['R', g.constant([p, c0], 'int64', [2]), g.constant([END, p], 'int64', [2]), axes]);
    const Xpart = g.op('Slice', ['R', g.constant([c0, c0], 'int64', [2]), g.constant([p, c0 + BLOCK], 'int64', [2]), axes]);
    parts.push(g.op('MatMul', [Lpart, Xpart]));
  }
  const P = parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: 1 });
  g.op('Gemm', ['D', P], { alpha: { f: -1 } }, 'Y');
  g.output('Y', 'float64', ['k', p]);
  return g.model();
}

/** Block row of Linvᵀ Linv: R holds rows I·nb… of Linv; Y = R[:, c0:c1]ᵀ R[:, 0:c1]. */
function lowerGramRowGraph(): Uint8Array {
  const g = new Graph('lauum_row');
  g.input('R', 'float64', ['r', 'n']);
  for (const n of ['sa', 'ea', 'sb', 'eb']) g.input(n, 'int64', [2]);
  const axes = g.constant([0, 1], 'int64', [2]);
  const A = g.op('Slice', ['R', 'sa', 'ea', axes]);
  const B = g.op('Slice', ['R', 'sb', 'eb', axes]);
  g.op('Gemm', [A, B], { transA: 1 }, 'Y');
  g.output('Y', 'float64', ['k', 'c']);
  return g.model();
}

/**
 * The k x k diagonal block at the start of T (row stride m): its Cholesky factor L11 and
 * U11 = L11⁻ᵀ, by the TypeScript backend's register-blocked kernels (the O(n·BLOCK²) part of
 * the work that stays in TS); undefined if the block is not positive definite.
 */
function factorDiagonalBlock(T: Float64Array, k: number, m: number): { L11: Float64Array; U11: Float64Array } | undefined {
  const L11 = new Float64Array(k * k);
  for (let i = 0; i < k; i++) L11.set(T.subarray(i * m, i * m + i + 1), i * k);
  if (!choleskyInPlace(L11, k)) return undefined;
  const U11 = new Float64Array(k * k);
  lowerInverseTransposeRows(L11, U11, k, 0, 1);
  return { L11, U11 };
}

function transposeSquare(a: Float64Array, k: number): Float64Array {
  const t = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) t[j * k + i] = a[i * k + j];
  return t;
}

interface Factor {
  /** L (n x n, row-major, upper triangle zero). */
  L: Float64Array;
  /** Inverses of the diagonal blocks of L, in block order. */
  diagInv: Float64Array[];
}

/**
 * The backend over a runtime loaded on first use (runtime() is called by the first operation, not
 * here: the backend's env is read in the scheduler's thread, which should not load ORT).
 */
export function ortLinalgFactory(version: string, runtime: () => OrtRuntime) {
  // PIPELINE_ORT_THREADS (default 1, as nodes already run one per core), or withThreads. The
  // count is in the key: ORT's results are not thread-count invariant in general (4 threads
  // changed the bits of the inverse at N = 300 and 700, though not at 1024, and not those of any
  // single MatMul tried; test/numerics/backend.test.ts), so no idle cores are borrowed either.
  let threads = ortThreads();
  const session = (key: string, build: () => Uint8Array) => runtime().session(key, threads, build);
  const f64 = (data: Float64Array, dims: number[]) => runtime().tensor('float64', data, dims);
  const i64 = (a: number, b: number) => runtime().tensor('int64', BigInt64Array.from([BigInt(a), BigInt(b)]), [2]);
  const data = (t: OrtTensor) => t.data as Float64Array;

  const gemm = (A: Matrix, B: Matrix, transA: boolean, transB: boolean): Matrix => {
    const m = transA ? A.cols : A.rows;
    const n = transB ? B.rows : B.cols;
    const kA = transA ? A.rows : A.cols;
    const kB = transB ? B.cols : B.rows;
    if (kA !== kB) throw new RangeError(`cannot multiply ${A.rows}x${A.cols}${transA ? 'ᵀ' : ''} by ${B.rows}x${B.cols}${transB ? 'ᵀ' : ''}`);
    if (m === 0 || n === 0) return matrix(m, n);
    if (kA === 0) return matrix(m, n);
    const key = `gemm_${+transA}${+transB}`;
    const out = session(key, () => gemmGraph(transA, transB)).run({ A: f64(A.data, [A.rows, A.cols]), B: f64(B.data, [B.rows, B.cols]) });
    return matrix(m, n, data(out.Y));
  };

  /**
   * Blocked left-looking Cholesky of the SPD matrix whose lower triangle is in a (n x n; a is
   * only read); undefined if not SPD. Left-looking: each step's GEMM makes just the block column
   * it factors (n³/6 multiply-adds in all, half a right-looking full trailing update's) and
   * allocates r x BLOCK, not r x r. Only A's lower triangle is read: the diagonal block's
   * factorisation reads j <= i, the rows below it lie below the diagonal.
   */
  const factor = (a: Float64Array, n: number): Factor | undefined => {
    const L = new Float64Array(n * n);
    const diagInv: Float64Array[] = [];
    for (let k0 = 0; k0 < n; k0 += BLOCK) {
      const k = Math.min(BLOCK, n - k0);
      const r = n - k0;
      let S: Float64Array;
      if (k0 === 0) {
        S = new Float64Array(r * k);
        for (let i = 0; i < r; i++) S.set(a.subarray(i * n, i * n + k), i * k);
      } else {
        S = data(
          session('cholesky_panel', choleskyPanelGraph).run({
            Arows: f64(a.subarray(k0 * n), [r, n]),
            Lrows: f64(L.subarray(k0 * n), [r, n]),
            sa: i64(0, k0),
            ea: i64(r, k0 + k),
            sl: i64(0, 0),
            el: i64(r, k0),
            sj: i64(0, 0),
            ej: i64(k, k0),
          }).S,
        );
      }
      const diag = factorDiagonalBlock(S, k, k);
      if (!diag) return undefined;
      const { L11, U11 } = diag;
      diagInv.push(transposeSquare(U11, k));
      for (let i = 0; i < k; i++) L.set(L11.subarray(i * k, i * k + i + 1), (k0 + i) * n + k0);
      if (r === k) break;
      // The panel below: L21 = S21 L11⁻ᵀ.
      const L21 = data(session('gemm_00', () => gemmGraph(false, false)).run({ A: f64(S.subarray(k * k), [r - k, k]), B: f64(U11, [k, k]) }).Y);
      for (let i = 0; i < r - k; i++) L.set(L21.subarray(i * k, (i + 1) * k), (k0 + k + i) * n + k0);
    }
    return { L, diagInv };
  };

  /**
   * Lower-triangular inverse of the factor, by block rows, over L itself: block row I reads L's
   * row I (copied out first) and the inverse's rows above it, which are already final.
   */
  const lowerInverseInPlace = ({ L, diagInv }: Factor, n: number): Float64Array => {
    diagInv.forEach((D, I) => {
      const k0 = I * BLOCK;
      const k = Math.min(BLOCK, n - k0);
      const p = k0;
      let Y: Float64Array | undefined;
      if (I > 0) {
        const R = f64(L.subarray(0, (p + k) * n), [p + k, n]);
        Y = data(session(`trtri_row_${I}`, () => triangularInverseRowGraph(I)).run({ R, D: f64(D, [k, k]) }).Y);
      }
      // Whole rows of D, zeros above its diagonal included: the Gram step reads the diagonal
      // blocks whole.
      for (let i = 0; i < k; i++) {
        if (Y) L.set(Y.subarray(i * p, (i + 1) * p), (k0 + i) * n);
        L.set(D.subarray(i * k, (i + 1) * k), (k0 + i) * n + k0);
      }
    });
    return L;
  };

  /**
   * Lower triangle of Xᵀ X for lower-triangular X (n x n), into X itself: block row I of the
   * product reads X's rows from I on, and later block rows read only rows after I's.
   */
  const lowerGramInPlace = (X: Float64Array, n: number): Float64Array => {
    for (let k0 = 0; k0 < n; k0 += BLOCK) {
      const k = Math.min(BLOCK, n - k0);
      const c = k0 + k;
      const r = n - k0;
      const Y = data(
        session('lauum_row', lowerGramRowGraph).run({
          R: f64(X.subarray(k0 * n), [r, n]),
          sa: i64(0, k0),
          ea: i64(r, c),
          sb: i64(0, 0),
          eb: i64(r, c),
        }).Y,
      );
      for (let i = 0; i < k; i++) X.set(Y.subarray(i * c, i * c + k0 + i + 1), (k0 + i) * n);
    }
    return X;
  };

  const inverseLower = (A: Matrix): Matrix => {
    const n = A.rows;
    const f = factor(A.data, n);
    if (!f) throw new RangeError('matrix is not symmetric positive definite');
    return matrix(n, n, lowerGramInPlace(lowerInverseInPlace(f, n), n));
  };

  return {
    name: 'ort' as const,
    /** What may change bits: the ORT version, the ISA its kernels dispatch to, the thread count. */
    env: { linalg: 'ort', ort: version, ort_isa: ortIsa(), ort_threads: String(threads) },
    inverseSPD: (A: Matrix) => mirrorLower(inverseLower(A)),
    inverseSPDLower: inverseLower,
    choleskyLower(A: Matrix): Matrix | undefined {
      const f = factor(A.data, A.rows);
      return f && matrix(A.rows, A.rows, f.L);
    },
    inverseGeneral: inverseGeneralJs,
    symmetricTimes: (A: Matrix, B: Matrix) => gemm(mirrorLower(A), B, false, false),
    gramLower(X: Matrix, scale: number, shift: number): Matrix {
      if (X.rows === 0) return matrix(0, 0);
      const out = session('gram', gramGraph).run({ X: f64(X.data, [X.rows, X.cols]), scale: f64(Float64Array.of(scale), []), shift: f64(Float64Array.of(shift), []) });
      return matrix(X.rows, X.rows, data(out.Y));
    },
    multiplyABt: (A: Matrix, B: Matrix) => gemm(A, B, false, true),
    multiplyAtB: (A: Matrix, B: Matrix) => gemm(A, B, true, false),
    multiply: (A: Matrix, B: Matrix) => gemm(A, B, false, false),
    symmetricABtLower: (A: Matrix, B: Matrix) => gemm(A, B, false, true),
    /** n threads per operation, for single-job programs (tests, the bench): env is not updated. */
    withThreads<T>(n: number, fn: () => T): T {
      const before = threads;
      threads = n;
      try {
        return fn();
      } finally {
        threads = before;
      }
    },
  };
}
