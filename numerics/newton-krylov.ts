/**
 * Jacobian-free Newton–Krylov, step for step what `scipy.optimize.newton_krylov(F, x0, f_tol,
 * maxiter)` does with its defaults (scipy 1.10, as the original code calls it):
 * - inner solver LGMRES with inner_m = 30, outer_k = 10, one outer cycle per Newton step, its
 *   augmentation vectors carried across Newton steps and prepended, their A·v not stored;
 * - forcing term (Eisenstat–Walker): η0 = 1e-3, γ = 0.9, η_max = 0.9999, threshold 0.1;
 * - Armijo backtracking on ‖F‖² (c1 = 1e-4, amin = 1e-2), else the full step;
 * - J·v ≈ (F(x + ω v/‖v‖) − F(x)) / (ω/‖v‖), ω = √eps · max(1, ‖x‖∞) / max(1, ‖F‖∞);
 * - stop when ‖F‖∞ <= f_tol after at least one step; at most maxiter Newton steps.
 * Non-convergence is a result (converged: false), not an exception.
 */

export type Residual = (x: Float64Array) => Float64Array;

export interface NewtonKrylovOptions {
  fTol?: number;
  maxiter?: number;
  innerM?: number;
  outerK?: number;
  /** F(x0) when the caller already has it (a fallback from another solver): saves one evaluation, same path. */
  f0?: Float64Array;
  /** Called after every Newton step. */
  onStep?(step: number, residualMax: number): void;
}

export interface NewtonKrylovResult {
  x: Float64Array;
  converged: boolean;
  iterations: number;
  evaluations: number;
  residualMax: number;
}

const EPS = 2.220446049250313e-16;

const norm2 = (v: Float64Array) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
};
const maxAbs = (v: Float64Array) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
};
const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const axpy = (y: Float64Array, a: number, x: Float64Array) => {
  for (let i = 0; i < y.length; i++) y[i] += a * x[i];
};
const scaled = (v: Float64Array, a: number) => v.map((x) => x * a);

interface Krylov {
  x0: Float64Array;
  f0: Float64Array;
  omega: number;
  outerV: Float64Array[];
}

/** One flexible-GMRES Arnoldi cycle with augmentation vectors first (scipy's _fgmres). */
function fgmres(matvec: (v: Float64Array) => Float64Array, v0: Float64Array, m: number, atol: number, outerV: Float64Array[]): { zs: Float64Array[]; y: Float64Array } {
  const vs = [v0];
  const zs: Float64Array[] = [];
  const total = m + outerV.length;
  // H = Q R kept as Givens rotations (c, s) applied to each new column; g = Qᵀ e1.
  const R: number[][] = [];
  const cs: number[] = [];
  const sn: number[] = [];
  const g = [1];
  let j = 0;
  for (; j < total; j++) {
    const z = j < outerV.length ? outerV[j] : j === outerV.length ? v0 : vs[vs.length - 1];
    let w = matvec(z);
    const wNorm = norm2(w);
    w = Float64Array.from(w);
    const h = new Array<number>(j + 2).fill(0);
    for (let i = 0; i < vs.length; i++) {
      const a = dot(vs[i], w);
      h[i] = a;
      axpy(w, -a, vs[i]);
    }
    h[vs.length] = norm2(w);
    const last = h[vs.length];
    const inv = 1 / last;
    if (Number.isFinite(inv)) for (let i = 0; i < w.length; i++) w[i] *= inv;
    const breakdown = !(last > EPS * wNorm);
    vs.push(w);
    zs.push(z);
    // Apply the previous rotations, then one that zeroes h[j+1].
    for (let i = 0; i < j; i++) {
      const t = cs[i] * h[i] + sn[i] * h[i + 1];
      h[i + 1] = -sn[i] * h[i] + cs[i] * h[i + 1];
      h[i] = t;
    }
    const r = Math.hypot(h[j], h[j + 1]);
    const c = r === 0 ? 1 : h[j] / r;
    const s = r === 0 ? 0 : h[j + 1] / r;
    cs.push(c);
    sn.push(s);
    h[j] = r;
    h[j + 1] = 0;
    R.push(h.slice(0, j + 1));
    g.push(-s * g[j]);
    g[j] = c * g[j];
    const res = Math.abs(g[j + 1]);
    if (res < atol || breakdown) break;
  }
  const k = Math.min(j, total - 1) + 1;
  // Back substitution R y = g (R column-stored: R[col][row]).
  const y = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = g[i];
    for (let c = i + 1; c < k; c++) s -= R[c][i] * y[c];
    y[i] = R[i][i] === 0 ? 0 : s / R[i][i];
  }
  return { zs: zs.slice(0, k), y };
}

/** LGMRES with maxiter = 1 from x = 0, as KrylovJacobian.solve calls it. */
function lgmresSolve(kj: Krylov, F: Residual, count: () => void, rhs: Float64Array, rtol: number, innerM: number, outerK: number): Float64Array {
  const matvec = (v: Float64Array): Float64Array => {
    const nv = norm2(v);
    if (nv === 0) return new Float64Array(v.length);
    const sc = kj.omega / nv;
    const xt = kj.x0.map((x, i) => x + sc * v[i]);
    count();
    const fx = F(xt);
    return fx.map((f, i) => (f - kj.f0[i]) / sc);
  };
  const bNorm = norm2(rhs);
  const x = new Float64Array(rhs.length);
  if (bNorm === 0) return x;
  // r = A·0 − b = −b; v0 = b / ‖b‖.
  const rNorm = bNorm;
  if (rNorm <= rtol * bNorm) return x;
  const v0 = scaled(rhs, 1 / rNorm);
  const ptol = Math.min(1, (rtol * bNorm) / rNorm);
  const { zs, y } = fgmres(matvec, v0, innerM, ptol, kj.outerV);
  const dx = new Float64Array(rhs.length);
  for (let i = 0; i < zs.length; i++) axpy(dx, y[i] * rNorm, zs[i]);
  const nx = norm2(dx);
  if (nx > 0) kj.outerV.push(scaled(dx, 1 / nx));
  while (kj.outerV.length > outerK) kj.outerV.shift();
  axpy(x, 1, dx);
  return x;
}

/** scipy.optimize._linesearch.scalar_search_armijo. */
function armijo(phi: (s: number) => number, phi0: number, derphi0: number, amin: number): number | null {
  const c1 = 1e-4;
  let alpha0 = 1;
  let phiA0 = phi(alpha0);
  if (phiA0 <= phi0 + c1 * alpha0 * derphi0) return alpha0;
  let alpha1 = (-derphi0 * alpha0 * alpha0) / 2 / (phiA0 - phi0 - derphi0 * alpha0);
  let phiA1 = phi(alpha1);
  if (phiA1 <= phi0 + c1 * alpha1 * derphi0) return alpha1;
  while (alpha1 > amin) {
    const factor = alpha0 * alpha0 * alpha1 * alpha1 * (alpha1 - alpha0);
    let a = alpha0 * alpha0 * (phiA1 - phi0 - derphi0 * alpha1) - alpha1 * alpha1 * (phiA0 - phi0 - derphi0 * alpha0);
    a /= factor;
    let b = -(alpha0 ** 3) * (phiA1 - phi0 - derphi0 * alpha1) + alpha1 ** 3 * (phiA0 - phi0 - derphi0 * alpha0);
    b /= factor;
    let alpha2 = (-b + Math.sqrt(Math.abs(b * b - 3 * a * derphi0))) / (3 * a);
    const phiA2 = phi(alpha2);
    if (phiA2 <= phi0 + c1 * alpha2 * derphi0) return alpha2;
    if (alpha1 - alpha2 > alpha1 / 2 || 1 - alpha2 / alpha1 < 0.96) alpha2 = alpha1 / 2;
    alpha0 = alpha1;
    alpha1 = alpha2;
    phiA0 = phiA1;
    phiA1 = phiA2;
  }
  return null;
}

export function newtonKrylov(F: Residual, x0: Float64Array, opts: NewtonKrylovOptions = {}): NewtonKrylovResult {
  const fTol = opts.fTol ?? Math.cbrt(EPS);
  const maxiter = opts.maxiter ?? 100 * (x0.length + 1);
  const innerM = opts.innerM ?? 30;
  const outerK = opts.outerK ?? 10;
  let evaluations = 0;
  const f = (x: Float64Array) => {
    evaluations++;
    return F(x);
  };
  let x = Float64Array.from(x0);
  let Fx = opts.f0 ? Float64Array.from(opts.f0) : f(x);
  let FxNorm = norm2(Fx);
  const rdiff = Math.sqrt(EPS);
  const kj: Krylov = { x0: x, f0: Fx, omega: 0, outerV: [] };
  const updateJ = (xn: Float64Array, fn: Float64Array) => {
    kj.x0 = xn;
    kj.f0 = fn;
    kj.omega = (rdiff * Math.max(1, maxAbs(xn))) / Math.max(1, maxAbs(fn));
  };
  updateJ(x, Fx);
  const gamma = 0.9;
  const etaMax = 0.9999;
  const etaThreshold = 0.1;
  let eta = 1e-3;
  for (let n = 0; n < maxiter; n++) {
    // As scipy: before the first step dx = inf, and its test |dx| / x_rtol = inf/inf is NaN, so
    // at least one Newton step is always taken (unless F is exactly zero).
    const r = maxAbs(Fx);
    if (r === 0 || (n > 0 && r <= fTol)) return { x, converged: true, iterations: n, evaluations, residualMax: r };
    const tol = Math.min(eta, eta * FxNorm);
    const dx = lgmresSolve(kj, F, () => evaluations++, Fx, tol, innerM, outerK).map((v) => -v);
    if (norm2(dx) === 0) throw new Error('Jacobian inversion yielded zero vector');
    // Armijo line search on φ(s) = ‖F(x + s dx)‖², else the full step.
    let lastS = 0;
    let lastF = Fx;
    let lastPhi = FxNorm * FxNorm;
    const phi = (s: number) => {
      if (s === lastS) return lastPhi;
      const v = f(x.map((xi, i) => xi + s * dx[i]));
      const finite = v.every(Number.isFinite);
      const p = finite ? norm2(v) ** 2 : Infinity;
      lastS = s;
      lastPhi = p;
      lastF = v;
      return p;
    };
    const phi0 = FxNorm * FxNorm;
    const s = armijo(phi, phi0, -phi0, 1e-2) ?? 1;
    const xNew = x.map((xi, i) => xi + s * dx[i]);
    const FNew = s === lastS ? lastF : f(xNew);
    const FNewNorm = norm2(FNew);
    x = xNew;
    Fx = FNew;
    updateJ(x, Fx);
    const etaA = (gamma * FNewNorm * FNewNorm) / (FxNorm * FxNorm);
    eta = gamma * eta * eta < etaThreshold ? Math.min(etaMax, etaA) : Math.min(etaMax, Math.max(etaA, gamma * eta * eta));
    FxNorm = FNewNorm;
    opts.onStep?.(n + 1, maxAbs(Fx));
  }
  const r = maxAbs(Fx);
  return { x, converged: r <= fTol, iterations: maxiter, evaluations, residualMax: r };
}
