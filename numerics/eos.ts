/**
 * The adaptive-kernel equations of state (EoS) of a 2-layer erf network (DESIGN §4), float64.
 *
 * Unknown Σ (d0 x d0). K = X Σ Xᵀ; Q1 = σ_a² (2/π) arcsin(c), c_ij = 2 K_ij s_i s_j,
 * s_i = (1 + 2 K_ii)^(-1/2); B = Q1 + σ² I; f̄ = Q1 B⁻¹ y; t = y − f̄ = σ² B⁻¹ y;
 * A = B⁻¹ − σ² t tᵀ (held fixed); Σ_new = ((d0/σ_w²) I + (1/χ) ∇_Σ tr(A Q1(Σ)))⁻¹.
 *
 * The gradient is analytic: ∇_Σ tr(A Q1) = Xᵀ G X with G = ∂ tr(A Q1)/∂K by the chain rule
 * through arcsin and the diagonal normalisation (W = A ⊙ Q1'):
 *   G_ij = 2 W_ij s_i s_j (i ≠ j),   G_ii = 2 s_i² (W_ii − Σ_l W_il c_il).
 *
 * compat (the original code): its label term broadcasts y (N,) against f̄ (N,1), so it uses
 * M Mᵀ with M_ij = y_j − f̄_i, i.e. (M Mᵀ)_ik = Σy² − (f̄_i + f̄_k) Σy + N f̄_i f̄_k, not t tᵀ.
 */
import { backend } from './backend.ts';
import { matrix, mirrorLower, type Matrix } from './matrix.ts';

export interface EosProblem {
  X: Matrix;
  y: Float64Array;
  /** Noise σ² of the GP likelihood. */
  sig2: number;
  sigw2: number;
  siga2: number;
  /** Reproduce the original code's broadcast label term. */
  compat: boolean;
}

export interface EosEvaluation {
  sigmaNew: Float64Array;
  fbar: Float64Array;
  /** Q1(Σ) (full, symmetric) when asked for: the same bits as adaptiveKernel(p, Σ).Q1, without recomputing it. */
  Q1?: Matrix;
}

const TWO_OVER_PI = 2 / Math.PI;

/** (Σ + Σᵀ)/2: Newton–Krylov probes need not be symmetric; the map is defined on symmetric Σ. */
function symmetrise(sigma: Float64Array, d: number): Float64Array {
  const s = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) s[i * d + j] = 0.5 * (sigma[i * d + j] + sigma[j * d + i]);
  return s;
}

/**
 * K = X Σ Xᵀ (lower triangle). When Σ = L Lᵀ is positive definite, as it is at every solution,
 * K = (X L)(X L)ᵀ is a syrk: half the flops of the general product, which is the fallback for
 * the indefinite probes Newton–Krylov may try.
 */
function quadraticForm(X: Matrix, sigma: Float64Array): Matrix {
  const la = backend();
  const d = X.cols;
  const L = la.choleskyLower(matrix(d, d, sigma));
  if (!L) return la.symmetricABtLower(la.multiply(X, matrix(d, d, sigma)), X);
  return la.gramLower(la.multiply(X, L), 1, 0);
}

/** Q1(Σ) with its ingredients: s, c (lower triangle) and K's use in the gradient. */
export function adaptiveKernel(p: EosProblem, sigma: Float64Array, lowerOnly = false): { Q1: Matrix; s: Float64Array; c: Matrix } {
  const { X } = p;
  const n = X.rows;
  const d = X.cols;
  const K = quadraticForm(X, symmetrise(sigma, d));
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = 1 / Math.sqrt(1 + 2 * K.data[i * n + i]);
  const c = K; // reused in place: c_ij = 2 K_ij s_i s_j
  const Q1 = matrix(n, n);
  // Locals, not property loads, in the N²/2 loop: it runs at every residual evaluation.
  const cd = c.data;
  const q = Q1.data;
  const scale = p.siga2 * TWO_OVER_PI;
  for (let i = 0; i < n; i++) {
    const r = i * n;
    const si2 = 2 * s[i];
    for (let j = 0; j <= i; j++) {
      const cij = si2 * cd[r + j] * s[j];
      cd[r + j] = cij;
      q[r + j] = scale * Math.asin(cij);
    }
  }
  return { Q1: lowerOnly ? Q1 : mirrorLower(Q1), s, c };
}

/** One evaluation of the Σ update map at annealing factor χ. */
export function eosMap(p: EosProblem, sigma: Float64Array, chi: number, keepQ1 = false): EosEvaluation {
  const { X, y } = p;
  const n = X.rows;
  const d = X.cols;
  // B = Q1 + σ² I; both inverses read only the lower triangle.
  const { Q1: B, s, c } = adaptiveKernel(p, sigma, true);
  const Q1 = keepQ1 ? mirrorLower(matrix(n, n, Float64Array.from(B.data))) : undefined;
  for (let i = 0; i < n; i++) B.data[i * n + i] += p.sig2;
  // Only B⁻¹'s lower triangle is read from here on.
  const Binv = backend().inverseSPDLower(B).data;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = Binv[i * n + i] * y[i];
    for (let j = 0; j < i; j++) {
      acc += Binv[i * n + j] * y[j];
      t[j] += Binv[i * n + j] * y[i];
    }
    t[i] += acc;
  }
  for (let i = 0; i < n; i++) t[i] *= p.sig2;
  const fbar = y.map((v, i) => v - t[i]);
  let sy = 0;
  let syy = 0;
  for (const v of y) {
    sy += v;
    syy += v * v;
  }
  // The label term σ² L_ik is rank 1 (t tᵀ) or, in compat, S2 − (f̄_i + f̄_k) S1 + N f̄_i f̄_k.
  const compat = p.compat;
  // W = A ⊙ Q1' and G on the lower triangle; row sums Σ_l W_il c_il over the full (symmetric) row.
  const G = matrix(n, n);
  const g = G.data;
  const rowsum = new Float64Array(n);
  const q1Scale = p.siga2 * TWO_OVER_PI;
  const cd = c.data;
  const sig2 = p.sig2;
  for (let i = 0; i < n; i++) {
    const r = i * n;
    const ti = t[i];
    const fi = fbar[i];
    const si2 = 2 * s[i];
    let rowI = 0;
    for (let j = 0; j <= i; j++) {
      const cij = cd[r + j];
      const label = compat ? syy - (fi + fbar[j]) * sy + n * fi * fbar[j] : ti * t[j];
      const w = (Binv[r + j] - sig2 * label) * (q1Scale / Math.sqrt(1 - cij * cij));
      const wc = w * cij;
      rowI += wc;
      if (j !== i) rowsum[j] += wc;
      g[r + j] = si2 * w * s[j];
    }
    rowsum[i] += rowI;
  }
  for (let i = 0; i < n; i++) g[i * n + i] -= 2 * s[i] * s[i] * rowsum[i];
  // ∇ = Xᵀ (G X), G symmetric from its lower triangle.
  const la = backend();
  const grad = la.multiplyAtB(X, la.symmetricTimes(G, X));
  const M = matrix(d, d);
  for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) M.data[a * d + b] = (a === b ? d / p.sigw2 : 0) + grad.data[a * d + b] / chi;
  // M is symmetric and, in practice, positive definite: Cholesky, else Gauss–Jordan.
  let sigmaNew: Float64Array;
  try {
    sigmaNew = la.inverseSPD(M).data;
  } catch {
    sigmaNew = la.inverseGeneral(M).data;
  }
  return { sigmaNew, fbar, Q1 };
}
