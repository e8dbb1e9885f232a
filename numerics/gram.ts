import { matrix, type Matrix } from './matrix.ts';
import { withTeam } from './parallel.ts';
import { multiplyABtRows, productLowerRows } from './row-kernels.ts';

/**
 * K = shift + scale * X Xᵀ, lower triangle only (j <= i; diagonal blocks are filled whole).
 *
 * Kernels are symmetric, so every consumer in numerics/ reads j <= i; callers that need the
 * full matrix call mirrorLower. `upperTriangular`: X is square and zero below its diagonal.
 */
export function gramLower(X: Matrix, scale: number, shift: number, upperTriangular = false): Matrix {
  return productLower(X, X, scale, shift, upperTriangular);
}

/**
 * shift + scale * A Bᵀ, lower triangle only: the Gram kernel of two row sets (A Bᵀ symmetric).
 * Large products run on as many cores as are idle (parallel.ts); the bits do not depend on it.
 */
export function productLower(A: Matrix, B: Matrix, scale: number, shift: number, upperTriangular = false): Matrix {
  if (A.rows !== B.rows || A.cols !== B.cols) throw new RangeError('productLower needs two matrices of one shape');
  const n = A.rows;
  const d = A.cols;
  return withTeam((n * n * d) / 2, (team) => {
    const k = team.alloc(n * n);
    team.run(productLowerRows, [team.share(A.data), team.share(B.data), k, n, d, scale, shift, upperTriangular]);
    return matrix(n, n, team.own(k));
  });
}

/** C = A Bᵀ for A (m x k), B (n x k): every entry a dot product of two contiguous rows. */
export function multiplyABt(A: Matrix, B: Matrix): Matrix {
  if (A.cols !== B.cols) throw new RangeError(`cannot form A Bᵀ for ${A.rows}x${A.cols} and ${B.rows}x${B.cols}`);
  const m = A.rows;
  const n = B.rows;
  const d = A.cols;
  return withTeam(m * n * d, (team) => {
    const c = team.alloc(m * n);
    team.run(multiplyABtRows, [team.share(A.data), team.share(B.data), c, m, n, d]);
    return matrix(m, n, team.own(c));
  });
}

export function transpose(A: Matrix): Matrix {
  const T = matrix(A.cols, A.rows);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) T.data[j * A.rows + i] = A.data[i * A.cols + j];
  return T;
}
