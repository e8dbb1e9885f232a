/**
 * The annealed EoS solve: Σ0 = (σ_w²/d0) I, then a root of F(Σ) = Σ − Σ_new(Σ) per annealing
 * factor χ, each started from the last. Two solvers, one stopping rule (‖F‖∞ ≤ f_tol after at
 * least one step):
 * - `scipy`: Newton–Krylov step for step as scipy's newton_krylov (the original code's path);
 *   each factor costs ~5 evaluations, most of them finite-difference Jacobian products.
 * - `fast`: the root is predicted along the annealing path (Σ is smooth in u = 1/χ, and Σ0 is
 *   exactly the solution at u = 0), then Anderson-accelerated fixed-point steps on Σ = Σ_new(Σ),
 *   which need no Jacobian: ~2 evaluations a factor, aiming at f_tol / 1000 (FAST_AIM). Where they fail (diverge, or use up their
 *   budget) the factor is solved again by Newton–Krylov from the last solution, and the step
 *   record says so.
 */
import { anderson } from './anderson.ts';
import { adaptiveKernel, eosMap, type EosProblem } from './eos.ts';
import { kernelNC1, type KernelNC1 } from './nc1.ts';
import { newtonKrylov } from './newton-krylov.ts';

export interface EosStep {
  step: number;
  /** null for step 0 (the NNGP point Σ0). */
  annealing_factor: number | null;
  Sigma: number[];
  trace_Sigma: number;
  Q1_nc1: Pick<KernelNC1, 'Tr_Sigma_W' | 'Tr_Sigma_B' | 'nc1'>;
  converged: boolean;
  residual_max: number;
  evaluations: number;
  newton_iterations: number;
  /** Which solver found this step's root: 'scipy', 'fast', or 'fast+scipy' (fell back). Absent for step 0. */
  solver?: EosSolverName | 'fast+scipy';
  seconds: number;
}

export type EosSolverName = 'fast' | 'scipy';
export const EOS_SOLVERS: readonly EosSolverName[] = ['fast', 'scipy'];

/** Evaluations the fast solver may spend on one factor before falling back to Newton–Krylov. */
const FAST_BUDGET = 30;
/**
 * The fast solver aims at f_tol / 1000 (and accepts f_tol): Newton's quadratic step lands scipy
 * at residuals of 1e-12 … 1e-6, and near χ = 500 the kernel NC1 moves by percents within f_tol
 * (N = 2048: NC1 6.45e-2 at a residual of 4.7e-4 against 5.12e-2 at 1.3e-8), so a root merely
 * within f_tol would follow the solver, not the equations. Aiming lower costs ~1 evaluation.
 */
const FAST_AIM = 1e-3;

export interface EosSolveOptions {
  schedule: number[];
  fTol: number;
  maxiter: number;
  classSizes: number[];
  /** Default 'scipy': the original's path; the eos stage's default is 'fast'. */
  solver?: EosSolverName;
  onStep?(done: number, total: number, step: EosStep): void;
}

/** 1e5, 9e4, ..., 1e4, 9e3, ..., 1e3, 900, ..., 500: the original code's 24 annealing factors. */
export function defaultSchedule(): number[] {
  const out: number[] = [];
  for (const decade of [1e5, 1e4, 1e3]) for (let k = 10; k >= 1; k--) if (k < 10 || decade === 1e5) out.push((decade / 10) * k);
  return [...out.filter((v) => v >= 1000), 900, 800, 700, 600, 500].filter((v, i, a) => a.indexOf(v) === i);
}

export function solveEos(p: EosProblem, opts: EosSolveOptions): { steps: EosStep[]; sigma: Float64Array } {
  const d = p.X.cols;
  let sigma: Float64Array = new Float64Array(d * d);
  for (let i = 0; i < d; i++) sigma[i * d + i] = p.sigw2 / d;
  const record = (step: number, chi: number | null, converged: boolean, residual: number, evaluations: number, iterations: number, seconds: number, solver?: EosStep['solver']): EosStep => {
    const { Q1 } = adaptiveKernel(p, sigma);
    const nc = kernelNC1(Q1, opts.classSizes);
    let tr = 0;
    for (let i = 0; i < d; i++) tr += sigma[i * d + i];
    return {
      step,
      annealing_factor: chi,
      Sigma: Array.from(sigma),
      trace_Sigma: tr,
      Q1_nc1: { Tr_Sigma_W: nc.Tr_Sigma_W, Tr_Sigma_B: nc.Tr_Sigma_B, nc1: nc.nc1 },
      converged,
      residual_max: residual,
      evaluations,
      newton_iterations: iterations,
      ...(solver ? { solver } : {}),
      seconds,
    };
  };
  const steps = [record(0, null, true, 0, 0, 0, 0)];
  const solver = opts.solver ?? 'scipy';
  // The path so far, for the predictor: (u = 1/χ, Σ), starting at the exact u = 0 solution.
  const path: { u: number; sigma: Float64Array }[] = [{ u: 0, sigma }];
  opts.schedule.forEach((chi, k) => {
    const start = performance.now();
    const F = (x: Float64Array) => {
      const { sigmaNew } = eosMap(p, x, chi);
      return x.map((v, i) => v - sigmaNew[i]);
    };
    let step: EosStep;
    if (solver === 'fast') {
      const fast = anderson(F, predict(path, 1 / chi), { fTol: opts.fTol, aim: FAST_AIM * opts.fTol, maxEvaluations: Math.min(FAST_BUDGET, opts.maxiter * 5) });
      if (fast.converged) {
        sigma = fast.x;
        step = record(k + 1, chi, true, fast.residualMax, fast.evaluations, fast.steps, (performance.now() - start) / 1000, 'fast');
      } else {
        const r = newtonKrylov(F, sigma, { fTol: opts.fTol, maxiter: opts.maxiter });
        sigma = r.x;
        step = record(k + 1, chi, r.converged, r.residualMax, fast.evaluations + r.evaluations, fast.steps + r.iterations, (performance.now() - start) / 1000, 'fast+scipy');
      }
    } else {
      const r = newtonKrylov(F, sigma, { fTol: opts.fTol, maxiter: opts.maxiter });
      sigma = r.x;
      step = record(k + 1, chi, r.converged, r.residualMax, r.evaluations, r.iterations, (performance.now() - start) / 1000, 'scipy');
    }
    path.push({ u: 1 / chi, sigma });
    steps.push(step);
    opts.onStep?.(k + 1, opts.schedule.length, step);
  });
  return { steps, sigma };
}

/**
 * Σ at u = 1/χ extrapolated from the last three solutions along the path (Lagrange, quadratic in
 * u), or linearly from two. The annealing steps are small in u (1e-5 … 2e-3), so this lands
 * within ~1e-6 … 1e-9 of the root where the plain warm start is off by ~1e-4.
 */
export function predict(path: readonly { u: number; sigma: Float64Array }[], u: number): Float64Array {
  const n = path.length;
  if (n === 1) return Float64Array.from(path[0].sigma);
  if (n === 2) {
    const [a, b] = path;
    const w = (u - b.u) / (b.u - a.u);
    return b.sigma.map((v, i) => v + w * (v - a.sigma[i]));
  }
  const [a, b, c] = path.slice(-3);
  const la = ((u - b.u) * (u - c.u)) / ((a.u - b.u) * (a.u - c.u));
  const lb = ((u - a.u) * (u - c.u)) / ((b.u - a.u) * (b.u - c.u));
  const lc = ((u - a.u) * (u - b.u)) / ((c.u - a.u) * (c.u - b.u));
  return a.sigma.map((v, i) => la * v + lb * b.sigma[i] + lc * c.sigma[i]);
}
