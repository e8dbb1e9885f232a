import { defineStage, f64, single } from '../engine/stage-api.ts';
import { backend } from '../numerics/backend.ts';
import { adaptiveKernel } from '../numerics/eos.ts';
import { defaultSchedule, EOS_SOLVERS, solveEos } from '../numerics/eos-solve.ts';
import { readDataset } from './lib/dataset.ts';

export default defineStage({
  description: 'Adaptive-kernel equations of state (erf, 2 layers): annealed solve for Σ (fast: path predictor + Anderson; or scipy Newton–Krylov); kernel NC1 of Q1 per step',
  params: {
    sig2: { type: 'number', greaterThan: 0, default: 1e-6, doc: 'GP noise σ²' },
    sigw2: { type: 'number', greaterThan: 0, default: 1, doc: 'weight variance σ_w²' },
    siga2: { type: 'number', greaterThan: 0, default: 1 / 128, doc: 'read-out variance σ_a²' },
    schedule: { type: 'number[]', greaterThan: 0, default: defaultSchedule(), doc: 'annealing factors χ, solved in order with warm starts' },
    f_tol: { type: 'number', greaterThan: 0, default: 5e-4, doc: 'max-norm tolerance of Σ − Σ_new (the original: 5e-4)' },
    maxiter: { type: 'integer', min: 1, default: 100, doc: 'Newton steps per annealing factor (the scipy solver, and the fast solver\'s fallback)' },
    solver: {
      type: 'string',
      enum: EOS_SOLVERS,
      default: 'fast',
      doc:
        "fast: predict Σ from the last 3 solutions along 1/χ, then Anderson acceleration of Σ = Σ_new(Σ) (aiming at f_tol/1000; at most 30 evaluations a factor, then the scipy Newton–Krylov from its best point: solver 'fast+scipy' in the step record); scipy: the original code's scipy Newton–Krylov step for step. Both stop on max|Σ − Σ_new(Σ)| <= f_tol",
    },
    compat: {
      type: 'string',
      enum: ['none', 'shallow_nc1'],
      default: 'none',
      doc: "shallow_nc1: the original code's label term, an N x N broadcast of y − f̄ instead of t tᵀ",
    },
    save_kernels: { type: 'boolean', default: false, doc: 'also store Q1 at the NNGP point and at the end, and the final Σ (for heatmaps)' },
  },
  inputs: { data: { doc: 'a dataset node', needs: ['X.f64', 'y.f64', 'data.json'] } },
  run({ params: p, inputs, progress, log }) {
    const data = readDataset(single(inputs.data, 'data'));
    const problem = { X: data.X, y: data.y, sig2: p.sig2, sigw2: p.sigw2, siga2: p.siga2, compat: p.compat === 'shallow_nc1' };
    log(`linear algebra on ${backend().name} (${Object.entries(backend().env).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    progress(0, `χ = ${p.schedule[0]}`);
    // No per-node BLAS thread count: workers are threads of one process, and OpenBLAS's count is
    // process-wide, so it would leak into nodes running beside this one and change their bits
    // (the CI reproduction caught exactly that). PIPELINE_BLAS_THREADS sets it for a whole run.
    const { steps, sigma } = solveEos(problem, {
      schedule: p.schedule,
      fTol: p.f_tol,
      maxiter: p.maxiter,
      solver: p.solver,
      classSizes: data.class_sizes,
      onStep: (done, total, step) => progress(done / total, `χ = ${step.annealing_factor}, ${step.evaluations} evaluations`),
    });
    const last = steps[steps.length - 1];
    const converged = steps.every((s) => s.converged);
    const stats = {
      model: 'adaptive',
      activation: 'erf',
      compat: p.compat,
      N: data.N,
      d0: data.d0,
      class_sizes: data.class_sizes,
      nc1: last.Q1_nc1.nc1,
      Tr_Sigma_W: last.Q1_nc1.Tr_Sigma_W,
      Tr_Sigma_B: last.Q1_nc1.Tr_Sigma_B,
      nngp_nc1: steps[0].Q1_nc1.nc1,
      converged,
      not_converged_steps: steps.filter((s) => !s.converged).map((s) => s.annealing_factor),
      solver: p.solver,
      evaluations: steps.reduce((a, s) => a + s.evaluations, 0),
      fallback_steps: steps.filter((s) => s.solver === 'fast+scipy').map((s) => s.annealing_factor),
    };
    // Timings go to the node's log (meta.json), not to outputs: same inputs must give the same bytes.
    for (const s of steps.slice(1)) log(`χ=${s.annealing_factor}: ${s.solver}, ${s.evaluations} evaluations (${s.newton_evaluations} Newton–Krylov), ${s.newton_iterations} Newton steps, max|F|=${s.residual_max.toExponential(2)}, ${s.seconds.toFixed(2)} s`);
    const outputs: Record<string, unknown> = { 'stats.json': stats, 'steps.json': steps.map(({ seconds: _, ...s }) => s) };
    if (p.save_kernels) {
      const d = data.d0;
      const initial = new Float64Array(d * d);
      for (let i = 0; i < d; i++) initial[i * d + i] = p.sigw2 / d;
      outputs['Q1_initial.f64'] = f64([data.N, data.N], adaptiveKernel(problem, initial).Q1.data);
      outputs['Q1_final.f64'] = f64([data.N, data.N], adaptiveKernel(problem, sigma).Q1.data);
      outputs['Sigma.f64'] = f64([d, d], sigma);
    }
    return outputs;
  },
});
