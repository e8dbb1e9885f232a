/**
 * The annealed EoS solve: Σ0 = (σ_w²/d0) I, then a root of F(Σ) = Σ − Σ_new(Σ) per χ, warm-started.
 *
 * Two solvers, same equations and the same stopping rule (‖F‖∞ ≤ f_tol at every factor):
 * - `scipy`: the original code's scipy Newton–Krylov, step for step (numerics/newton-krylov.ts).
 * - `fast`: a predictor along the annealing path, then Anderson acceleration of Σ = Σ_new(Σ)
 *   (numerics/anderson.ts). Σ is analytic in u = 1/χ and Σ0 is the exact solution at u = 0, so
 *   a polynomial through the last solutions in u predicts the next one; often the predicted Σ
 *   already satisfies f_tol and the factor costs one evaluation. Where the fast solver does not
 *   reach f_tol within its budget it hands its best point to the scipy Newton–Krylov, and the
 *   step record says so (solver `fast+scipy`).
 */
import { andersonFixedPoint } from './anderson.ts';
import { adaptiveKernel, eosMap, type EosProblem } from './eos.ts';
import type { Matrix } from './matrix.ts';
import { kernelNC1, type KernelNC1 } from './nc1.ts';
import { newtonKrylov } from './newton-krylov.ts';

export type EosSolverName = 'fast' | 'scipy';
export const EOS_SOLVERS: EosSolverName[] = ['fast', 'scipy'];

export interface EosStep {
  step: number;
  /** null for step 0 (the NNGP point Σ0). */
  annealing_factor: number | null;
  Sigma: number[];
  trace_Sigma: number;
  Q1_nc1: Pick<KernelNC1, 'Tr_Sigma_W' | 'Tr_Sigma_B' | 'nc1'>;
  converged: boolean;
  residual_max: number;
  /** Which solver produced this step: `fast+scipy` is the fast solver falling back to Newton–Krylov. */
  solver: 'none' | 'fast' | 'scipy' | 'fast+scipy';
  /** Residual evaluations at this factor, all solvers together. */
  evaluations: number;
  /** Of those, the ones the scipy Newton–Krylov spent (0 when the fast solver converged alone). */
  newton_evaluations: number;
  newton_iterations: number;
  seconds: number;
}

export interface EosSolveOptions {
  schedule: number[];
  fTol: number;
  maxiter: number;
  classSizes: number[];
  /** Default `scipy`, the original's path (a library caller asking for nothing gets what scipy computes); the eos stage's default is `fast`. */
  solver?: EosSolverName;
  /** Overrides of the fast solver's knobs (tests force its fallback with these). */
  fast?: Partial<typeof FAST>;
  onStep?(done: number, total: number, step: EosStep): void;
}

/** The fast solver's knobs; fixed (not params) so a config names only the solver. */
export const FAST: Readonly<{ predictorPoints: number; memory: number; maxEvaluations: number; target: number; polishEvaluations: number; predictFromImage: boolean }> = {
  /** Solutions the predictor interpolates (3: quadratic in 1/χ). */
  predictorPoints: 3,
  /** Anderson history. */
  memory: 5,
  /** Evaluations at one factor before falling back to Newton–Krylov. */
  maxEvaluations: 30,
  /** The fast solver aims at target × f_tol (≤ 1), and accepts anything ≤ f_tol when its budget ends. */
  /**
   * Why f_tol/1000: NC1 is sensitive to Σ far below f_tol. On fig7's problem (N = 1024, d0 = 128),
   * against a solve to f_tol = 1e-9, the final log10 NC1 of this solver is off by 1.3e-5 at
   * f_tol/1000 (29 evaluations), 1.5e-4 at f_tol/100 (26), and the scipy path at f_tol = 5e-4 by
   * 1.6e-3; accepting at f_tol itself moved N = 256 NC1 by 0.05 dex.
   */
  target: 0.001,
  /** Once within f_tol, at most this many more evaluations aiming at the target (it may be below rounding). */
  polishEvaluations: 3,
  /** Extrapolate through Σ_new(Σ_k) rather than Σ_k (see FactorResult.image). */
  predictFromImage: true,
};

/** 1e5, 9e4, ..., 1e4, 9e3, ..., 1e3, 900, ..., 500: the original code's 24 annealing factors. */
export function defaultSchedule(): number[] {
  const out: number[] = [];
  for (const decade of [1e5, 1e4, 1e3]) for (let k = 10; k >= 1; k--) if (k < 10 || decade === 1e5) out.push((decade / 10) * k);
  return [...out.filter((v) => v >= 1000), 900, 800, 700, 600, 500].filter((v, i, a) => a.indexOf(v) === i);
}

/** The Lagrange polynomial through (u_k, Σ_k) evaluated at u (element-wise). */
export function extrapolate(us: number[], sigmas: Float64Array[], u: number): Float64Array {
  const out = new Float64Array(sigmas[0].length);
  for (let k = 0; k < us.length; k++) {
    let w = 1;
    for (let j = 0; j < us.length; j++) if (j !== k) w *= (u - us[j]) / (us[k] - us[j]);
    const s = sigmas[k];
    for (let i = 0; i < out.length; i++) out[i] += w * s[i];
  }
  return out;
}

interface FactorResult {
  x: Float64Array;
  /** Σ_new(x) = x − F(x) when known: closer to the root than x for a contraction, free, so the predictor uses it. */
  image?: Float64Array;
  converged: boolean;
  residualMax: number;
  solver: EosStep['solver'];
  evaluations: number;
  newtonEvaluations: number;
  newtonIterations: number;
}

function scipyFactor(F: (x: Float64Array) => Float64Array, x0: Float64Array, opts: EosSolveOptions): FactorResult {
  const r = newtonKrylov(F, x0, { fTol: opts.fTol, maxiter: opts.maxiter });
  return { x: r.x, converged: r.converged, residualMax: r.residualMax, solver: 'scipy', evaluations: r.evaluations, newtonEvaluations: r.evaluations, newtonIterations: r.iterations };
}

function fastFactor(G: (x: Float64Array) => Float64Array, F: (x: Float64Array) => Float64Array, x0: Float64Array, opts: EosSolveOptions): FactorResult {
  const fast = { ...FAST, ...opts.fast };
  const a = andersonFixedPoint(G, x0, { fTol: fast.target * opts.fTol, maxEvaluations: fast.maxEvaluations, memory: fast.memory, acceptTol: opts.fTol, polishEvaluations: fast.polishEvaluations });
  if (a.residualMax <= opts.fTol) return { x: a.x, image: fast.predictFromImage ? a.x.map((v, i) => v - a.Fx[i]) : undefined, converged: true, residualMax: a.residualMax, solver: 'fast', evaluations: a.evaluations, newtonEvaluations: 0, newtonIterations: 0 };
  // Fallback: the scipy Newton–Krylov from the best point, reusing its residual.
  const r = newtonKrylov(F, a.x, { fTol: opts.fTol, maxiter: opts.maxiter, f0: a.Fx });
  const better = r.residualMax <= a.residualMax;
  return {
    x: better ? r.x : a.x,
    converged: r.converged,
    residualMax: better ? r.residualMax : a.residualMax,
    solver: 'fast+scipy',
    evaluations: a.evaluations + r.evaluations,
    newtonEvaluations: r.evaluations,
    newtonIterations: r.iterations,
  };
}

export function solveEos(p: EosProblem, opts: EosSolveOptions): { steps: EosStep[]; sigma: Float64Array } {
  const solver = opts.solver ?? 'scipy';
  const d = p.X.cols;
  let sigma: Float64Array = new Float64Array(d * d);
  for (let i = 0; i < d; i++) sigma[i * d + i] = p.sigw2 / d;
  // Q1 of the last evaluated points: the step record needs Q1 at the accepted Σ, which was always
  // evaluated (the fast solver's best point, scipy's last iterate), so it is not computed again.
  const recent: { x: Float64Array; Q1: Matrix }[] = [];
  const sameValues = (a: Float64Array, b: Float64Array) => {
    if (a === b) return true;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  };
  const record = (step: number, chi: number | null, r: Omit<FactorResult, 'x'>, seconds: number): EosStep => {
    const Q1 = recent.find((e) => sameValues(e.x, sigma))?.Q1 ?? adaptiveKernel(p, sigma).Q1;
    recent.length = 0;
    const nc = kernelNC1(Q1, opts.classSizes);
    let tr = 0;
    for (let i = 0; i < d; i++) tr += sigma[i * d + i];
    return {
      step,
      annealing_factor: chi,
      Sigma: Array.from(sigma),
      trace_Sigma: tr,
      Q1_nc1: { Tr_Sigma_W: nc.Tr_Sigma_W, Tr_Sigma_B: nc.Tr_Sigma_B, nc1: nc.nc1 },
      converged: r.converged,
      residual_max: r.residualMax,
      solver: r.solver,
      evaluations: r.evaluations,
      newton_evaluations: r.newtonEvaluations,
      newton_iterations: r.newtonIterations,
      seconds,
    };
  };
  const steps = [record(0, null, { converged: true, residualMax: 0, solver: 'none', evaluations: 0, newtonEvaluations: 0, newtonIterations: 0 }, 0)];
  // The path so far in u = 1/χ: Σ0 is the exact solution at u = 0 (χ = ∞).
  const us = [0];
  const path: Float64Array[] = [sigma];
  opts.schedule.forEach((chi, k) => {
    const start = performance.now();
    const G = (x: Float64Array) => {
      const e = eosMap(p, x, chi, true);
      recent.unshift({ x: Float64Array.from(x), Q1: e.Q1! });
      if (recent.length > 2) recent.pop();
      return e.sigmaNew;
    };
    const F = (x: Float64Array) => {
      const g = G(x);
      return x.map((v, i) => v - g[i]);
    };
    let r: FactorResult;
    if (solver === 'scipy') r = scipyFactor(F, sigma, opts);
    else {
      const n = Math.min(opts.fast?.predictorPoints ?? FAST.predictorPoints, us.length);
      r = fastFactor(G, F, extrapolate(us.slice(-n), path.slice(-n), 1 / chi), opts);
    }
    sigma = r.x;
    us.push(1 / chi);
    path.push(r.image ?? sigma);
    const step = record(k + 1, chi, r, (performance.now() - start) / 1000);
    steps.push(step);
    opts.onStep?.(k + 1, opts.schedule.length, step);
  });
  return { steps, sigma };
}
