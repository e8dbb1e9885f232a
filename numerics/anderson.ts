/**
 * Root of F(x) = x − G(x) by Anderson-accelerated fixed-point iteration (type II, Walker & Ni
 * 2011): each evaluation of F also gives G(x) = x − F(x), so no Jacobian product is ever formed.
 * The EoS map G(Σ) = Σ_new(Σ) is a strong contraction over most of the annealing path (its
 * residual falls ~100× per plain step at N = 256 and 1024), and where it weakens (small χ)
 * the last m differences stand in for the Jacobian.
 *
 * An F that throws at an iterate (the EoS kernel B = Q1 + σ²I is no longer positive definite
 * there) ends the iteration as 'failed'.
 *
 * Stopping rule as scipy's newton_krylov's: ‖F‖∞ ≤ f_tol after at least one step from x0 (a warm
 * start already within f_tol still takes one step, which keeps the solution as close to the
 * exact root as scipy's lands). Divergence (the residual growing tenfold over the best seen) or
 * running out of evaluations is a result, not an exception: the caller falls back.
 */

export interface AndersonOptions {
  fTol: number;
  /**
   * Residual to aim for (default f_tol): iteration goes on while cheap, until ‖F‖∞ ≤ aim; a stop
   * for any other reason still returns the best point seen, converged when it is within f_tol.
   */
  aim?: number;
  /** Evaluations allowed, counting F(x0). */
  maxEvaluations: number;
  /** History depth (differences kept). */
  m?: number;
  /** F(x0) when the caller has it already (it then costs no evaluation here). */
  f0?: Float64Array;
}

export interface AndersonResult {
  x: Float64Array;
  f: Float64Array;
  residualMax: number;
  converged: boolean;
  evaluations: number;
  steps: number;
  /** Why it stopped without converging: diverged, out of budget, or F threw (e.g. a matrix that lost definiteness). */
  stopped?: 'diverged' | 'budget' | 'failed';
}

/** Evaluations spent aiming below f_tol once within it (the root is already good enough). */
const AIM_EXTRA_EVALUATIONS = 3;

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > m || Number.isNaN(a)) m = a;
  }
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Least squares min_γ ‖f − ΔF γ‖₂ through the normal equations (m ≤ 5: tiny) with a relative
 * ridge so that nearly dependent differences do not blow γ up; undefined when singular.
 */
function mixingWeights(dF: Float64Array[], f: Float64Array): number[] | undefined {
  const k = dF.length;
  const A = dF.map((a) => dF.map((b) => dot(a, b)));
  const r = dF.map((a) => dot(a, f));
  for (let i = 0; i < k; i++) A[i][i] *= 1 + 1e-10;
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let i = c + 1; i < k; i++) if (Math.abs(A[i][c]) > Math.abs(A[p][c])) p = i;
    if (!(Math.abs(A[p][c]) > 0)) return undefined;
    [A[c], A[p]] = [A[p], A[c]];
    [r[c], r[p]] = [r[p], r[c]];
    for (let i = c + 1; i < k; i++) {
      const q = A[i][c] / A[c][c];
      for (let j = c; j < k; j++) A[i][j] -= q * A[c][j];
      r[i] -= q * r[c];
    }
  }
  const g = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = r[i];
    for (let j = i + 1; j < k; j++) s -= A[i][j] * g[j];
    g[i] = s / A[i][i];
  }
  return g.every(Number.isFinite) ? g : undefined;
}

export function anderson(F: (x: Float64Array) => Float64Array, x0: Float64Array, opts: AndersonOptions): AndersonResult {
  const m = opts.m ?? 5;
  let evaluations = 0;
  const evaluate = (x: Float64Array) => {
    evaluations++;
    return F(x);
  };
  let x = x0;
  let f: Float64Array;
  try {
    f = opts.f0 ?? evaluate(x0);
  } catch {
    return { x: x0, f: new Float64Array(x0.length).fill(NaN), residualMax: NaN, converged: false, evaluations, steps: 0, stopped: 'failed' };
  }
  let r = maxAbs(f);
  let best = r;
  const dX: Float64Array[] = [];
  const dF: Float64Array[] = [];
  let steps = 0;
  const n = x.length;
  const aim = Math.min(opts.aim ?? opts.fTol, opts.fTol);
  // The best point after at least one step: what a stop short of `aim` returns.
  let kept: { x: Float64Array; f: Float64Array; r: number } | undefined;
  const stop = (stopped: 'diverged' | 'budget' | 'failed'): AndersonResult =>
    kept && kept.r <= opts.fTol
      ? { x: kept.x, f: kept.f, residualMax: kept.r, converged: true, evaluations, steps }
      : { x, f, residualMax: r, converged: false, evaluations, steps, stopped };
  /** Evaluations when a step first came within f_tol: past that, `aim` gets a few more. */
  let within: number | undefined;
  for (;;) {
    if (steps > 0 && r <= aim) return { x, f, residualMax: r, converged: true, evaluations, steps };
    if (steps > 0 && r <= opts.fTol) within ??= evaluations;
    if (within !== undefined && evaluations - within >= AIM_EXTRA_EVALUATIONS) return stop('budget');
    if (!Number.isFinite(r) || r > 10 * best) return stop('diverged');
    if (evaluations >= opts.maxEvaluations) return stop('budget');
    // x+ = G(x) − Σ_j γ_j (ΔX_j − ΔF_j), G(x) = x − f: the plain step corrected by the history.
    const gamma = dF.length ? mixingWeights(dF, f) : [];
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) next[i] = x[i] - f[i];
    if (gamma) {
      for (let j = 0; j < gamma.length; j++) {
        const g = gamma[j];
        const dx = dX[j];
        const df = dF[j];
        for (let i = 0; i < n; i++) next[i] -= g * (dx[i] - df[i]);
      }
    }
    let fNext: Float64Array;
    try {
      fNext = evaluate(next);
    } catch {
      return stop('failed');
    }
    const ddx = new Float64Array(n);
    const ddf = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      ddx[i] = next[i] - x[i];
      ddf[i] = fNext[i] - f[i];
    }
    dX.push(ddx);
    dF.push(ddf);
    if (dX.length > m) {
      dX.shift();
      dF.shift();
    }
    x = next;
    f = fNext;
    r = maxAbs(f);
    best = Math.min(best, r);
    steps++;
    if (!kept || r < kept.r) kept = { x, f, r };
  }
}
