/**
 * Float64 dense linear algebra in TypeScript on row-major Float64Arrays: the fallback that always
 * works (DESIGN §6); numerics/backend.ts swaps in OpenBLAS when its addon is built.
 */
import { matrix, mirrorLower, type Matrix } from './matrix.ts';
import { withTeam, type Team } from './parallel.ts';
import { choleskyPanelRows, lowerInverseTransposeRows, productLowerRows } from './row-kernels.ts';

/**
 * In-place Cholesky A = L Lᵀ of an SPD matrix; the lower triangle becomes L. Returns false if not SPD.
 * Panels of 4 columns: the update from all earlier columns (the bulk: n³/6 multiply-adds) runs
 * 2 rows x 4 columns at a time over contiguous row segments, split by rows over the team; the
 * panel itself is then factored. With a team of more than one, `a` must be team-shared memory.
 */
export function choleskyInPlace(a: Float64Array, n: number, team?: Team): boolean {
  for (let j0 = 0; j0 < n; j0 += 4) {
    const m = Math.min(4, n - j0);
    if (j0 > 0) {
      if (m === 4) {
        if (team) team.run(choleskyPanelRows, [a, n, j0], 4 * (n - j0) * j0);
        else choleskyPanelRows(a, n, j0, 0, 1);
      } else {
        for (let i = j0; i < n; i++) {
          for (let c = 0; c < m && j0 + c <= i; c++) {
            const rj = (j0 + c) * n;
            let s = 0;
            for (let k = 0; k < j0; k++) s += a[i * n + k] * a[rj + k];
            a[i * n + j0 + c] -= s;
          }
        }
      }
    }
    for (let c = 0; c < m; c++) {
      const j = j0 + c;
      const rj = j * n;
      let d = a[rj + j];
      for (let k = j0; k < j; k++) d -= a[rj + k] * a[rj + k];
      if (!(d > 0)) return false;
      const ljj = Math.sqrt(d);
      a[rj + j] = ljj;
      const inv = 1 / ljj;
      for (let i = j + 1; i < n; i++) {
        const r = i * n;
        let s = a[r + j];
        for (let k = j0; k < j; k++) s -= a[r + k] * a[rj + k];
        a[r + j] = s * inv;
      }
    }
  }
  return true;
}

/**
 * Inverse of an SPD matrix: A⁻¹ = L⁻ᵀ L⁻¹ (full, symmetric). Throws if A is not SPD. Its three
 * O(n³) phases (Cholesky, U = L⁻ᵀ, U Uᵀ) run on as many cores as are idle; the bits do not
 * depend on how many.
 */
export function inverseSPD(A: Matrix): Matrix {
  const n = A.rows;
  return withTeam(n * n * n, (team) => {
    const l = team.alloc(n * n);
    l.set(A.data);
    if (!choleskyInPlace(l, n, team)) throw new RangeError('matrix is not symmetric positive definite');
    const u = team.alloc(n * n);
    team.run(lowerInverseTransposeRows, [l, u, n]);
    // (L⁻ᵀ L⁻¹)_ij = Σ_k U_ik U_jk: a Gram matrix of the rows of U. It goes into l, whose every
    // lower entry is overwritten and whose upper triangle mirrorLower then fills.
    team.run(productLowerRows, [u, u, l, n, n, 1, 0, true]);
    return mirrorLower(matrix(n, n, team.own(l)));
  });
}

/** Inverse of a small general matrix by Gauss–Jordan with partial pivoting. */
export function inverseGeneral(A: Matrix): Matrix {
  const n = A.rows;
  const a = Float64Array.from(A.data);
  const inv = matrix(n, n);
  const b = inv.data;
  for (let i = 0; i < n; i++) b[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    if (a[p * n + c] === 0) throw new RangeError('matrix is singular');
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        [a[p * n + k], a[c * n + k]] = [a[c * n + k], a[p * n + k]];
        [b[p * n + k], b[c * n + k]] = [b[c * n + k], b[p * n + k]];
      }
    }
    const piv = 1 / a[c * n + c];
    for (let k = 0; k < n; k++) {
      a[c * n + k] *= piv;
      b[c * n + k] *= piv;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c];
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        a[r * n + k] -= f * a[c * n + k];
        b[r * n + k] -= f * b[c * n + k];
      }
    }
  }
  return inv;
}

/** C = A B (small or tall-skinny products). */
export function multiply(A: Matrix, B: Matrix): Matrix {
  if (A.cols !== B.rows) throw new RangeError(`cannot multiply ${A.rows}x${A.cols} by ${B.rows}x${B.cols}`);
  const C = matrix(A.rows, B.cols);
  const { data: a } = A;
  const { data: b } = B;
  const c = C.data;
  const m = B.cols;
  for (let i = 0; i < A.rows; i++) {
    for (let k = 0; k < A.cols; k++) {
      const aik = a[i * A.cols + k];
      if (aik === 0) continue;
      const rb = k * m;
      const rc = i * m;
      for (let j = 0; j < m; j++) c[rc + j] += aik * b[rb + j];
    }
  }
  return C;
}

/** Aᵀ B for A (n x p), B (n x q): accumulates row outer products, so both are read row-wise. */
export function multiplyTransposeA(A: Matrix, B: Matrix): Matrix {
  if (A.rows !== B.rows) throw new RangeError(`cannot form Aᵀ B for ${A.rows}x${A.cols} and ${B.rows}x${B.cols}`);
  const p = A.cols;
  const q = B.cols;
  const C = matrix(p, q);
  const c = C.data;
  for (let i = 0; i < A.rows; i++) {
    const ra = i * p;
    const rb = i * q;
    for (let k = 0; k < p; k++) {
      const aik = A.data[ra + k];
      if (aik === 0) continue;
      const rc = k * q;
      for (let j = 0; j < q; j++) c[rc + j] += aik * B.data[rb + j];
    }
  }
  return C;
}
