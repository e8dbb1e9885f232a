/**
 * The O(n³) loops of the TypeScript backend, each written to do one share (`part` of `parts`) of
 * its output rows, so that numerics/parallel.ts can run the shares on several threads.
 *
 * Rules that keep every entry's bits independent of `parts` (tests check it):
 * - a share is a set of whole output rows or row blocks, and each entry is computed by the same
 *   operations in the same order whichever share holds it;
 * - these are self-contained function declarations: parallel.ts ships their source text to the
 *   helper threads, so they may call only each other and Math.
 */

/**
 * Cholesky's update of the 4-column panel at j0 from all earlier columns:
 * a[i, j0..j0+3] -= Σ_{k<j0} L_ik L_jk for rows i >= j0 (upper-triangle entries are not written).
 * Rows run 2 at a time; this share does rows lo..hi-1, a contiguous slice of j0..n-1.
 */
export function choleskyPanelRows(a: Float64Array, n: number, j0: number, part: number, parts: number): void {
  const q0 = j0 * n, q1 = q0 + n, q2 = q1 + n, q3 = q2 + n;
  const lo = j0 + Math.floor(((n - j0) * part) / parts);
  const hi = j0 + Math.floor(((n - j0) * (part + 1)) / parts);
  let i = lo;
  for (; i + 1 < hi; i += 2) {
    const r0 = i * n;
    const r1 = r0 + n;
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
    let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    for (let k = 0; k < j0; k++) {
      const x0 = a[r0 + k], x1 = a[r1 + k];
      const y0 = a[q0 + k], y1 = a[q1 + k], y2 = a[q2 + k], y3 = a[q3 + k];
      s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
      s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
    }
    subtractPanelRow(a, r0 + j0, i - j0, s00, s01, s02, s03);
    subtractPanelRow(a, r1 + j0, i + 1 - j0, s10, s11, s12, s13);
  }
  for (; i < hi; i++) {
    const r0 = i * n;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < j0; k++) {
      const x = a[r0 + k];
      s0 += x * a[q0 + k]; s1 += x * a[q1 + k]; s2 += x * a[q2 + k]; s3 += x * a[q3 + k];
    }
    subtractPanelRow(a, r0 + j0, i - j0, s0, s1, s2, s3);
  }
}

/** Subtracts from row segment o..o+3 the columns c <= rel (rel = row index within the panel). */
export function subtractPanelRow(a: Float64Array, o: number, rel: number, s0: number, s1: number, s2: number, s3: number): void {
  a[o] -= s0;
  if (rel >= 1) a[o + 1] -= s1;
  if (rel >= 2) a[o + 2] -= s2;
  if (rel >= 3) a[o + 3] -= s3;
}

/**
 * U = L⁻ᵀ (upper triangular, row-major) from a Cholesky factor L (lower triangle of `l`); `u`
 * starts zeroed. Row c of U solves L x = e_c (x_k = 0 for k < c), independently of the other rows.
 * Four rows at a time share each load of L; groups of four are dealt to the shares in turn, which
 * balances their (n − j0)² costs.
 */
export function lowerInverseTransposeRows(l: Float64Array, u: Float64Array, n: number, part: number, parts: number): void {
  for (let j0 = 4 * part; j0 < n; j0 += 4 * parts) {
    const m = Math.min(4, n - j0);
    const u0 = j0 * n;
    const u1 = u0 + n;
    const u2 = u1 + n;
    const u3 = u2 + n;
    for (let i = j0; i < n; i++) {
      const r = i * n;
      let s0 = i === j0 ? 1 : 0;
      let s1 = i === j0 + 1 ? 1 : 0;
      let s2 = i === j0 + 2 ? 1 : 0;
      let s3 = i === j0 + 3 ? 1 : 0;
      if (m === 4) {
        for (let k = j0; k < i; k++) {
          const lk = l[r + k];
          s0 -= lk * u[u0 + k];
          s1 -= lk * u[u1 + k];
          s2 -= lk * u[u2 + k];
          s3 -= lk * u[u3 + k];
        }
      } else {
        for (let k = j0; k < i; k++) {
          const lk = l[r + k];
          s0 -= lk * u[u0 + k];
          if (m > 1) s1 -= lk * u[u1 + k];
          if (m > 2) s2 -= lk * u[u2 + k];
        }
      }
      const inv = 1 / l[r + i];
      u[u0 + i] = s0 * inv;
      if (m > 1) u[u1 + i] = s1 * inv;
      if (m > 2) u[u2 + i] = s2 * inv;
      if (m > 3) u[u3 + i] = s3 * inv;
    }
  }
}

/**
 * k = shift + scale * x xbᵀ on the lower triangle (j <= i; diagonal blocks are filled whole), for
 * x, xb (n x d). 4x4 register blocks cut loads from two per multiply-add to one half. Row blocks
 * of 4 are dealt to the shares in turn; the rows past the last whole block go to share 0.
 * `upperTriangular`: x is square and zero below its diagonal, so row i's dot products start at i.
 */
export function productLowerRows(
  x: Float64Array, xb: Float64Array, k: Float64Array, n: number, d: number,
  scale: number, shift: number, upperTriangular: boolean, part: number, parts: number,
): void {
  const n4 = n - (n % 4);
  for (let ib = 4 * part; ib < n4; ib += 4 * parts) {
    const r0 = ib * d, r1 = r0 + d, r2 = r1 + d, r3 = r2 + d;
    for (let jb = 0; jb <= ib; jb += 4) {
      const s0 = jb * d, s1 = s0 + d, s2 = s1 + d, s3 = s2 + d;
      let a00 = 0, a01 = 0, a02 = 0, a03 = 0;
      let a10 = 0, a11 = 0, a12 = 0, a13 = 0;
      let a20 = 0, a21 = 0, a22 = 0, a23 = 0;
      let a30 = 0, a31 = 0, a32 = 0, a33 = 0;
      for (let t = upperTriangular ? ib : 0; t < d; t++) {
        const x0 = x[r0 + t], x1 = x[r1 + t], x2 = x[r2 + t], x3 = x[r3 + t];
        const y0 = xb[s0 + t], y1 = xb[s1 + t], y2 = xb[s2 + t], y3 = xb[s3 + t];
        a00 += x0 * y0; a01 += x0 * y1; a02 += x0 * y2; a03 += x0 * y3;
        a10 += x1 * y0; a11 += x1 * y1; a12 += x1 * y2; a13 += x1 * y3;
        a20 += x2 * y0; a21 += x2 * y1; a22 += x2 * y2; a23 += x2 * y3;
        a30 += x3 * y0; a31 += x3 * y1; a32 += x3 * y2; a33 += x3 * y3;
      }
      let o = ib * n + jb;
      k[o] = shift + scale * a00; k[o + 1] = shift + scale * a01; k[o + 2] = shift + scale * a02; k[o + 3] = shift + scale * a03;
      o += n;
      k[o] = shift + scale * a10; k[o + 1] = shift + scale * a11; k[o + 2] = shift + scale * a12; k[o + 3] = shift + scale * a13;
      o += n;
      k[o] = shift + scale * a20; k[o + 1] = shift + scale * a21; k[o + 2] = shift + scale * a22; k[o + 3] = shift + scale * a23;
      o += n;
      k[o] = shift + scale * a30; k[o + 1] = shift + scale * a31; k[o + 2] = shift + scale * a32; k[o + 3] = shift + scale * a33;
    }
  }
  if (part !== 0) return;
  for (let i = n4; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = upperTriangular ? i : 0; t < d; t++) s += x[i * d + t] * xb[j * d + t];
      k[i * n + j] = shift + scale * s;
    }
  }
}

/**
 * c = a bᵀ for a (m x d), b (n x d): every entry a dot product of two contiguous rows, 4 x 4 at a
 * time. It repeats productLowerRows's micro-kernel on purpose: one shared, option-driven kernel
 * was measured 1.9x slower in inverseSPD (1060 vs 572 ms at N = 1024): V8 specialises the two
 * apart. Row blocks of 4 are dealt in turn; each share also does its blocks' leftover columns,
 * and share 0 the rows past the last whole block.
 */
export function multiplyABtRows(a: Float64Array, b: Float64Array, c: Float64Array, m: number, n: number, d: number, part: number, parts: number): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let ib = 4 * part; ib < m4; ib += 4 * parts) {
    const r0 = ib * d, r1 = r0 + d, r2 = r1 + d, r3 = r2 + d;
    for (let jb = 0; jb < n4; jb += 4) {
      const s0 = jb * d, s1 = s0 + d, s2 = s1 + d, s3 = s2 + d;
      let a00 = 0, a01 = 0, a02 = 0, a03 = 0;
      let a10 = 0, a11 = 0, a12 = 0, a13 = 0;
      let a20 = 0, a21 = 0, a22 = 0, a23 = 0;
      let a30 = 0, a31 = 0, a32 = 0, a33 = 0;
      for (let t = 0; t < d; t++) {
        const x0 = a[r0 + t], x1 = a[r1 + t], x2 = a[r2 + t], x3 = a[r3 + t];
        const y0 = b[s0 + t], y1 = b[s1 + t], y2 = b[s2 + t], y3 = b[s3 + t];
        a00 += x0 * y0; a01 += x0 * y1; a02 += x0 * y2; a03 += x0 * y3;
        a10 += x1 * y0; a11 += x1 * y1; a12 += x1 * y2; a13 += x1 * y3;
        a20 += x2 * y0; a21 += x2 * y1; a22 += x2 * y2; a23 += x2 * y3;
        a30 += x3 * y0; a31 += x3 * y1; a32 += x3 * y2; a33 += x3 * y3;
      }
      let o = ib * n + jb;
      c[o] = a00; c[o + 1] = a01; c[o + 2] = a02; c[o + 3] = a03;
      o += n;
      c[o] = a10; c[o + 1] = a11; c[o + 2] = a12; c[o + 3] = a13;
      o += n;
      c[o] = a20; c[o + 1] = a21; c[o + 2] = a22; c[o + 3] = a23;
      o += n;
      c[o] = a30; c[o + 1] = a31; c[o + 2] = a32; c[o + 3] = a33;
    }
    for (let i = ib; i < ib + 4; i++) multiplyABtEdge(a, b, c, n, d, i, n4);
  }
  if (part === 0) for (let i = m4; i < m; i++) multiplyABtEdge(a, b, c, n, d, i, 0);
}

/** Row i of c = a bᵀ from column j0 on, one dot product at a time. */
export function multiplyABtEdge(a: Float64Array, b: Float64Array, c: Float64Array, n: number, d: number, i: number, j0: number): void {
  for (let j = j0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += a[i * d + t] * b[j * d + t];
    c[i * n + j] = s;
  }
}

/** Everything a helper thread needs, in source order. */
export const ROW_KERNELS = [choleskyPanelRows, subtractPanelRow, lowerInverseTransposeRows, productLowerRows, multiplyABtRows, multiplyABtEdge];
