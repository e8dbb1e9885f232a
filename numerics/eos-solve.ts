/** The annealed EoS solve: Σ0 = (σ_w²/d0) I, then a Newton–Krylov root of Σ − Σ_new(Σ) per χ, warm-started. */
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
  seconds: number;
}

export interface EosSolveOptions {
  schedule: number[];
  fTol: number;
  maxiter: number;
  classSizes: number[];
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
  const record = (step: number, chi: number | null, converged: boolean, residual: number, evaluations: number, iterations: number, seconds: number): EosStep => {
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
      seconds,
    };
  };
  const steps = [record(0, null, true, 0, 0, 0, 0)];
  opts.schedule.forEach((chi, k) => {
    const start = performance.now();
    const F = (x: Float64Array) => {
      const { sigmaNew } = eosMap(p, x, chi);
      return x.map((v, i) => v - sigmaNew[i]);
    };
    const r = newtonKrylov(F, sigma, { fTol: opts.fTol, maxiter: opts.maxiter });
    sigma = r.x;
    const step = record(k + 1, chi, r.converged, r.residualMax, r.evaluations, r.iterations, (performance.now() - start) / 1000);
    steps.push(step);
    opts.onStep?.(k + 1, opts.schedule.length, step);
  });
  return { steps, sigma };
}
