/**
 * Anderson acceleration (type II, "Anderson mixing" with β = 1) of a fixed-point map x = G(x),
 * stopping on the max-norm of the residual F(x) = x − G(x) — the residual Newton–Krylov roots.
 *
 * Why: for the EoS, F = Σ − Σ_new(Σ), so one evaluation of F gives the fixed-point image G(Σ) for
 * free, and the map is a strong contraction along the annealing path. Anderson reuses every
 * evaluation (no finite-difference Jacobian products thrown away after one Newton step): with the
 * last m differences ΔF, ΔG it takes x⁺ = G(x) − ΔG γ, γ = argmin ‖F(x) − ΔF γ‖₂.
 *
 * Accepted points are always points where F was evaluated: the returned residualMax is ‖F(x)‖∞
 * of the returned x, never an estimate. Deterministic: plain loops in a fixed order.
 * Non-convergence is a result (converged: false) carrying the best point seen, not an exception.
 */

export interface AndersonOptions {
  fTol: number;
  /** Most evaluations of G (the first one, at x0, included). */
  maxEvaluations: number;
  /** History length m (differences kept). */
  memory?: number;
  /** Stop early (not converged) once ‖F‖∞ exceeds this multiple of the best seen: divergence. */
  divergenceFactor?: number;
  /**
   * A looser tolerance the caller would accept: once the best point is within it, at most
   * polishEvaluations more are spent aiming at fTol (fTol may lie below the rounding floor).
   */
  acceptTol?: number;
  polishEvaluations?: number;
}

export interface AndersonResult {
  /** The best point seen (smallest ‖F‖∞): the converged one when converged. */
  x: Float64Array;
  /** F(x) at that point, so a fallback solver can start from it without another evaluation. */
  Fx: Float64Array;
  converged: boolean;
  evaluations: number;
  residualMax: number;
}

const maxAbs = (v: Float64Array) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > m || Number.isNaN(a)) m = Number.isNaN(a) ? Infinity : a;
  }
  return m;
};

/**
 * Least squares min ‖f − D γ‖₂ for the few columns D (modified Gram–Schmidt QR). A column that is
 * nearly dependent on the ones before it is dropped (γ = 0 there): it would only amplify rounding.
 */
function leastSquares(D: Float64Array[], f: Float64Array): Float64Array {
  const m = D.length;
  const n = f.length;
  const Q: Float64Array[] = [];
  const R: number[][] = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  const kept: number[] = [];
  for (let j = 0; j < m; j++) {
    const v = Float64Array.from(D[j]);
    let orig = 0;
    for (let i = 0; i < n; i++) orig += v[i] * v[i];
    for (let k = 0; k < Q.length; k++) {
      let r = 0;
      const q = Q[k];
      for (let i = 0; i < n; i++) r += q[i] * v[i];
      R[k][j] = r;
      for (let i = 0; i < n; i++) v[i] -= r * q[i];
    }
    let nv = 0;
    for (let i = 0; i < n; i++) nv += v[i] * v[i];
    nv = Math.sqrt(nv);
    if (!(nv > 1e-10 * Math.sqrt(orig))) continue;
    for (let i = 0; i < n; i++) v[i] /= nv;
    R[Q.length][j] = nv;
    Q.push(v);
    kept.push(j);
  }
  // Rows of R belong to Q's columns; columns to kept D columns. Solve R[:, kept] γ_kept = Qᵀ f.
  const k = kept.length;
  const qf = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    let s = 0;
    const q = Q[a];
    for (let i = 0; i < n; i++) s += q[i] * f[i];
    qf[a] = s;
  }
  const gamma = new Float64Array(m);
  for (let a = k - 1; a >= 0; a--) {
    let s = qf[a];
    for (let b = a + 1; b < k; b++) s -= R[a][kept[b]] * gamma[kept[b]];
    gamma[kept[a]] = s / R[a][kept[a]];
  }
  return gamma;
}

/**
 * G returns the fixed-point image; F(x) = x − G(x) is formed here. x0's image may be given
 * (g0) when the caller already evaluated it, e.g. to test a predictor.
 */
export function andersonFixedPoint(G: (x: Float64Array) => Float64Array, x0: Float64Array, opts: AndersonOptions, g0?: Float64Array): AndersonResult {
  const m = opts.memory ?? 5;
  const divergence = opts.divergenceFactor ?? 1e3;
  const n = x0.length;
  let evaluations = 0;
  const residual = (x: Float64Array, g: Float64Array) => {
    const f = new Float64Array(n);
    for (let i = 0; i < n; i++) f[i] = x[i] - g[i];
    return f;
  };
  let x = x0;
  let g = g0 ?? (evaluations++, G(x));
  let f = residual(x, g);
  let r = maxAbs(f);
  let best = { x, f, r };
  const dF: Float64Array[] = [];
  const dG: Float64Array[] = [];
  let budget = opts.maxEvaluations;
  const polish = () => {
    if (opts.acceptTol !== undefined && best.r <= opts.acceptTol) budget = Math.min(budget, evaluations + (opts.polishEvaluations ?? 3));
  };
  polish();
  while (r > opts.fTol && evaluations < budget) {
    // x⁺ = G(x) − ΔG γ (β = 1: the undamped map, the right choice for a contraction).
    const next = Float64Array.from(g);
    if (dF.length) {
      const gamma = leastSquares(dF, f);
      for (let j = 0; j < dF.length; j++) {
        const c = gamma[j];
        if (c === 0) continue;
        const dg = dG[j];
        for (let i = 0; i < n; i++) next[i] -= c * dg[i];
      }
    }
    const gNext = G(next);
    evaluations++;
    const fNext = residual(next, gNext);
    const rNext = maxAbs(fNext);
    if (!Number.isFinite(rNext)) break;
    const df = new Float64Array(n);
    const dg = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      df[i] = fNext[i] - f[i];
      dg[i] = gNext[i] - g[i];
    }
    dF.push(df);
    dG.push(dg);
    if (dF.length > m) {
      dF.shift();
      dG.shift();
    }
    x = next;
    g = gNext;
    f = fNext;
    r = rNext;
    if (r < best.r) best = { x, f, r };
    if (r > divergence * best.r) break;
    polish();
  }
  return { x: best.x, Fx: best.f, converged: best.r <= opts.fTol, evaluations, residualMax: best.r };
}
