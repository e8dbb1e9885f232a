// @linalg-dependent: results go through numerics/backend.ts; test/run.mjs reruns this file on `ort` where OpenBLAS is the default.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adaptiveKernel, eosMap, type EosProblem } from '../../numerics/eos.ts';
import { defaultSchedule, EOS_SOLVERS, solveEos } from '../../numerics/eos-solve.ts';
import { fromRows } from '../../numerics/matrix.ts';
import { loadReference, relErr } from '../helpers/reference.ts';

const ref = loadReference('eos_N64_d2.json');
const st = ref.settings;
const problem = (compat: boolean): EosProblem => ({ X: fromRows(ref.X), y: Float64Array.from(ref.y), sig2: st.sig2, sigw2: st.sigw2, siga2: st.siga2, compat });

for (const m of ref.map_tests.float64) {
  test(`Σ update map, ${m.name} at χ = ${m.annealing_factor}, matches the original to 1e-9 (compat label term)`, () => {
    const out = eosMap(problem(true), Float64Array.from(m.Sigma_in.flat()), m.annealing_factor);
    m.Sigma_out.flat().forEach((v: number, i: number) => assert.ok(relErr(out.sigmaNew[i], v) < 1e-9, `entry ${i}: ${out.sigmaNew[i]} vs ${v}`));
  });
}

test('the intended label term t tᵀ gives a different map than the original broadcast', () => {
  const m = ref.map_tests.float64[0];
  const a = eosMap(problem(true), Float64Array.from(m.Sigma_in.flat()), m.annealing_factor).sigmaNew;
  const b = eosMap(problem(false), Float64Array.from(m.Sigma_in.flat()), m.annealing_factor).sigmaNew;
  assert.ok(Math.max(...Array.from(a, (v, i) => relErr(v, b[i]))) > 1e-6);
});

const cases: [string, boolean, number, number, number][] = [
  // variant, compat, f_tol, Σ tolerance per step, final NC1 relative tolerance
  ['float64_tight', true, 1e-11, 1e-8, 1e-6],
  ['float64_tight_column_y', false, 1e-11, 1e-8, 1e-6],
  ['float64_as_repo', true, 5e-4, 2e-4, 1e-3],
];
for (const solver of EOS_SOLVERS) {
  for (const [variant, compat, fTol, sigmaTol, nc1Tol] of cases) {
    test(`${solver} solver: annealed solve reproduces ${variant}: Σ per step within ${sigmaTol}, final NC1 within ${nc1Tol}`, () => {
      const v = ref.variants[variant];
      const r = solveEos(problem(compat), { schedule: st.annealing_factors, fTol, maxiter: 200, classSizes: st.class_sizes, solver });
      r.steps.forEach((s, k) => {
        const expected: number[] = v.steps[k].Sigma.flat();
        s.Sigma.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < sigmaTol, `step ${k} entry ${i}: ${x} vs ${expected[i]}`));
        assert.ok(s.converged);
        assert.ok(s.residual_max <= fTol, `step ${k}: max|F| ${s.residual_max} > f_tol ${fTol}`);
      });
      assert.ok(relErr(r.steps.at(-1)!.Q1_nc1.nc1, v.final_Q1_nc1.nc1) < nc1Tol);
      const refEvals: number[] = v.steps.slice(1).map((s: { newton_krylov?: { root_fn_evals: number } }) => s.newton_krylov?.root_fn_evals).filter(Boolean);
      const ours = r.steps.slice(1).map((s) => s.evaluations);
      if (solver === 'scipy') {
        assert.ok(r.steps.slice(1).every((s) => s.solver === 'scipy' && s.newton_evaluations === s.evaluations));
        // scipy's own evaluation counts, step by step: equal at the original tolerance; at 1e-11 the
        // last Newton step depends on rounding, so within 2 there.
        if (refEvals.length && fTol >= 5e-4) assert.equal(ours, refEvals);
        else refEvals.forEach((e, k) => assert.ok(Math.abs(ours[k] - e) <= 2, `step ${k + 1}: ${ours[k]} evaluations vs scipy's ${e}`));
      } else {
        // Every step says which solver ran; the fast one (alone or before a fallback) never costs more in all.
        assert.ok(r.steps.slice(1).every((s) => s.solver === 'fast' || s.solver === 'fast+scipy'));
        if (refEvals.length) assert.ok(ours.reduce((a, b) => a + b, 0) < refEvals.reduce((a, b) => a + b, 0), `${ours} vs scipy's ${refEvals}`);
      }
    });
  }
}

test('fast solver short of f_tol within its budget: falls back to the scipy Newton–Krylov from its best point, and says so', () => {
  const v = ref.variants.float64_tight;
  // One evaluation a factor cannot reach 1e-11 from a predictor over decades of χ.
  const r = solveEos(problem(true), { schedule: st.annealing_factors, fTol: 1e-11, maxiter: 200, classSizes: st.class_sizes, solver: 'fast', fast: { maxEvaluations: 1 } });
  const fellBack = r.steps.filter((s) => s.solver === 'fast+scipy');
  assert.ok(fellBack.length > 0);
  for (const s of fellBack) assert.ok(s.newton_evaluations > 0 && s.evaluations === s.newton_evaluations + 1);
  r.steps.forEach((s, k) => {
    assert.ok(s.converged && s.residual_max <= 1e-11);
    const expected: number[] = v.steps[k].Sigma.flat();
    s.Sigma.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < 1e-8, `step ${k} entry ${i}`));
  });
});

test('a factor that converges with neither solver is recorded as not converged, not thrown', () => {
  const r = solveEos(problem(true), { schedule: st.annealing_factors, fTol: 1e-300, maxiter: 1, classSizes: st.class_sizes, solver: 'fast', fast: { maxEvaluations: 2 } });
  assert.is(r.steps.length, st.annealing_factors.length + 1);
  assert.ok(r.steps.slice(1).every((s) => !s.converged && s.solver === 'fast+scipy' && Number.isFinite(s.residual_max)));
});

test('an evaluation keeps Q1 on request: the same bits as adaptiveKernel (the step record reuses it)', () => {
  const m = ref.map_tests.float64[0];
  const S = Float64Array.from(m.Sigma_in.flat());
  const kept = eosMap(problem(true), S, m.annealing_factor, true).Q1!;
  assert.equal(Array.from(kept.data), Array.from(adaptiveKernel(problem(true), S).Q1.data));
});

test('the fast solve is deterministic: the same Σ bits and records on a rerun', () => {
  const run = () => solveEos(problem(false), { schedule: st.annealing_factors, fTol: 5e-4, maxiter: 100, classSizes: st.class_sizes });
  const strip = (r: ReturnType<typeof run>) => JSON.stringify(r.steps.map(({ seconds: _, ...s }) => s));
  assert.is(strip(run()), strip(run()));
});

test('the default schedule is the original 24 factors: 1e5, 9e4, ..., 1e3, 900, ..., 500', () => {
  const s = defaultSchedule();
  assert.is(s.length, 24);
  assert.equal([s[0], s[1], s[9], s[10], s[18], s[19], s[23]], [1e5, 9e4, 1e4, 9e3, 1e3, 900, 500]);
});

test.run();
