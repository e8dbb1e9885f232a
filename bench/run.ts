/**
 * `npm run bench`: the numbers the issues name, measured on this machine, with ratios against the
 * original Python code timed on the same machine: PIPELINE_BENCH_ORIGINAL=<file> names the JSON
 * that ../shared/bench-original/run.sh writes. Without it, ratios use DESIGN §7's figures from
 * another day's machine, labelled so. Writes bench/results.json. Never part of `npm test`.
 * Run one group: npm run bench -- kernels | linalg | eos | train | engine | command | fig3 | fig8 | fig1
 * (eos: one solve N=1024 d0=128 and a fig6 cell N=2048 with both EoS solvers, minutes)
 * (no group: all of them; fig1 is the full profile cold, minutes).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { limitingKernel, type Activation, type KernelModel } from '../numerics/kernels.ts';
import { matrix } from '../numerics/matrix.ts';
import { kernelNC1 } from '../numerics/nc1.ts';
import { Rng } from '../numerics/rng.ts';
import { TOY_STAGES } from '../test/helpers/project.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'pipeline.mjs');
const only = process.argv[2];
const want = (group: string, inDefault = true) => (only ? only === group : inDefault);
const cpuModel = (() => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? '?';
  } catch {
    return '?';
  }
})();
const results: Record<string, unknown> = { machine: { cpu: cpuModel, node: process.version, cores: (await import('node:os')).availableParallelism() } };

/**
 * The original code's timings: from PIPELINE_BENCH_ORIGINAL (measured beside this run), else
 * DESIGN §7's Zen 4 figures of 2026-12-01 (another machine: ratios are indicative only).
 */
const FALLBACK = {
  machine: { cpu: 'DESIGN §7 (AMD EPYC Zen 4, 2026-12-01; another machine)' },
  eos_N1024_d128: { seconds: 58.1, residual_evaluations: 292 },
  fcn_epoch_N1024_d128_h500: { ms_per_epoch: 12.4, run_seconds: 13.1 },
  fcn_epoch_N1024_d1_h2000: { ms_per_epoch: 34.7, run_seconds: 34.7 },
  limiting_sweep_erf_20cells_2repeats: { seconds: 10.9 },
};
const originalFile = process.env.PIPELINE_BENCH_ORIGINAL;
const original = (originalFile ? JSON.parse(readFileSync(originalFile, 'utf8')) : FALLBACK) as Record<string, Record<string, number | undefined> & { cpu?: string }>;
const originalLabel = originalFile ? `measured beside this run (${originalFile})` : 'DESIGN §7 figures from another machine (set PIPELINE_BENCH_ORIGINAL for ratios that count)';
console.log(`machine: ${cpuModel}; original code's timings: ${originalLabel}; the original ran on: ${original.machine?.cpu ?? '?'}`);
results.original = { source: originalFile ?? 'DESIGN §7 fallback', machine: original.machine };
/** An original timing in ms, e.g. orig('fcn_epoch_N1024_d128_h500', 'ms_per_epoch'); undefined if it was not measured. */
const orig = (group: string, field: string, scale = 1): number | undefined => {
  const v = original[group]?.[field];
  return typeof v === 'number' ? v * scale : undefined;
};

/** One measurement; ratio to the original when given; bar: the issue's bar as a ratio of the original (≤), or in ms. */
const line = (name: string, ms: number, ref?: number, bar?: { ratio?: number; ms?: number }) => {
  const ratio = ref ? ` = ${(ms / ref).toFixed(2)}x the original (${ref.toFixed(1)} ms)` : '';
  const barMs = bar?.ms ?? (bar?.ratio !== undefined && ref ? bar.ratio * ref : undefined);
  const what = bar?.ratio !== undefined ? `<= ${bar.ratio}x` : `${barMs?.toFixed(1)} ms`;
  const ok = barMs === undefined ? '' : ms <= barMs ? `  [bar ${what}: met]` : `  [bar ${what}: NOT met]`;
  console.log(`${name.padEnd(60)} ${ms.toFixed(1).padStart(9)} ms${ratio}${ok}`);
  results[name] = { ms, ...(ref ? { original_ms: ref, ratio: ms / ref } : {}), ...(barMs !== undefined ? { bar_ms: barMs, met: ms <= barMs } : {}) };
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeIt(f: () => void, reps: number): number {
  f(); // warm-up: JIT
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

function cliWall(args: string[], cwd: string, env: Record<string, string> = {}): { ms: number; out: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`pipeline ${args.join(' ')} failed: ${r.stderr}`);
  return { ms, out: r.stdout };
}

if (want('kernels')) {
  console.log('\n# Limiting kernel + kernel NC1, N = 1024 (one core, float64); original: the Intel Xeon table of DESIGN §7');
  const xeon: Record<string, number> = { 'erf nngp': 65, 'erf ntk': 118, 'relu nngp': 210, 'relu ntk': 355 };
  for (const d0 of [1, 8, 128]) {
    const X = matrix(1024, d0);
    new Rng(1).fillNormal(X.data);
    for (const activation of ['erf', 'relu'] as Activation[]) {
      for (const model of ['nngp', 'ntk'] as KernelModel[]) {
        const ms = timeIt(() => kernelNC1(limitingKernel(X, { activation, model, sigmaW: 1, sigmaB: 0 }).K, [512, 512]), 9);
        line(`${activation} ${model} kernel + NC1, d0=${d0}`, ms, xeon[`${activation} ${model}`], activation === 'erf' && model === 'ntk' ? { ms: 60 } : undefined);
      }
    }
  }
}

if (want('linalg') || want('eos')) {
  const { jsLinalg, loadNative, loadOrtLinalg, withBackend } = await import('../numerics/backend.ts');
  const { solveEos, defaultSchedule } = await import('../numerics/eos-solve.ts');
  const { mirrorLower } = await import('../numerics/matrix.ts');
  const native = loadNative();
  const ort = loadOrtLinalg();
  const N = 1024;
  if (want('linalg')) {
    console.log('\n# Float64 linear algebra, N = 1024, per backend (OpenBLAS addon, ONNX Runtime, TypeScript)');
    const R = matrix(N, N);
    new Rng(3).fillNormal(R.data);
    const A = mirrorLower(jsLinalg.gramLower(R, 1 / N, 0));
    for (let i = 0; i < N; i++) A.data[i * N + i] += 0.1;
    const X = matrix(N, 128);
    new Rng(4).fillNormal(X.data);
    // The operations the EoS and the kernels use, at their sizes: every backend at 1 thread, the
    // inverse also at 2 (in a pipeline run TS borrows idle cores and ORT/OpenBLAS get
    // PIPELINE_ORT_THREADS / PIPELINE_BLAS_THREADS).
    const ops: [string, (l: typeof jsLinalg) => unknown][] = [
      ['SPD inverse', (l) => l.inverseSPD(A)],
      ['SPD inverse, lower triangle in place (EoS)', (l) => l.inverseSPDLower(matrix(N, N, Float64Array.from(A.data)))],
      // native: the TS kernel (the addon has no bare potrf; only the EoS's d0 x d0 Σ needs it).
      ['Cholesky factor', (l) => l.choleskyLower(A)],
      ['gram X Xᵀ, X 1024x128 (syrk)', (l) => l.gramLower(X, 1, 0)],
      ['A B, 1024³ (gemm)', (l) => l.multiply(A, A)],
      ['A B, A symmetric 1024², B 1024x128 (symm)', (l) => l.symmetricTimes(A, X)],
      ['Xᵀ Y, 1024x128 each (gemm)', (l) => l.multiplyAtB(X, X)],
    ];
    const perOp: Record<string, Record<string, number>> = {};
    for (const l of [native, ort, jsLinalg]) {
      if (!l) continue;
      for (const [op, f] of ops) {
        const ms = l.withThreads(1, () => timeIt(() => f(l), l.name === 'js' ? 3 : 9));
        (perOp[op] ??= {})[l.name] = ms;
        line(`${op}, ${l.name}, 1 thread`, ms, undefined, op === 'SPD inverse' && l.name === 'ort' && perOp[op].native ? { ms: 1.2 * perOp[op].native } : undefined);
      }
      const ms2 = l.withThreads(2, () => timeIt(() => l.inverseSPD(A), l.name === 'js' ? 3 : 9));
      line(`SPD inverse, ${l.name}, 2 threads`, ms2);
    }
    if (native && ort) {
      const wins = Object.entries(perOp).filter(([, t]) => t.ort < t.native).map(([op]) => op);
      console.log(`ort faster than OpenBLAS (1 thread each) on ${wins.length} of ${ops.length} operations${wins.length ? `: ${wins.join('; ')}` : ''}`);
      results['ort vs native, 1 thread'] = Object.fromEntries(Object.entries(perOp).map(([op, t]) => [op, { ort_ms: t.ort, native_ms: t.native, ratio: t.ort / t.native }]));
    }
  }
  if (want('eos')) {
    const { backend } = await import('../numerics/backend.ts');
    const { eosMap } = await import('../numerics/eos.ts');
    const { EOS_SOLVERS } = await import('../numerics/eos-solve.ts');
    // fig7's problem (N = 1024, d0 = 128, balanced) and fig6's costliest cell shape (N = 2048,
    // d0 = 128, classes 256/1792): two Gaussian classes, 24 annealing factors, f_tol 5e-4.
    const shapes = [
      { N: 1024, d0: 128, sizes: [512, 512] },
      { N: 2048, d0: 128, sizes: [256, 1792] },
    ];
    const problemOf = ({ N, d0, sizes }: (typeof shapes)[number]) => {
      const X = matrix(N, d0);
      new Rng(0).fillNormal(X.data);
      for (let i = 0; i < N; i++) for (let k = 0; k < d0; k++) X.data[i * d0 + k] = 0.5 * X.data[i * d0 + k] + (i < sizes[0] ? -2 : 2);
      const y = new Float64Array(N).map((_, i) => (i < sizes[0] ? -1 : 1));
      return { X, y, sig2: 1e-6, sigw2: 1, siga2: 1 / 128, compat: false };
    };
    const ref = orig('eos_N1024_d128', 'seconds', 1000);
    const bars: Record<string, number> = { ort: 0.12, native: 0.1 };
    // The default backend (what a run here uses) and ort explicitly (a fresh machine's default).
    const defaultBackend = backend();
    const backends = [defaultBackend, ...(ort && ort.name !== defaultBackend.name ? [ort] : [])];
    for (const shape of shapes) {
      const p = problemOf(shape);
      const tag = `N=${shape.N} d0=${shape.d0} ${shape.sizes.join('/')}`;
      console.log(`\n# EoS solve ${tag}, 24 annealing steps, both solvers (fast: the default; scipy: the original's Newton–Krylov)`);
      for (const l of backends) {
        const name = `${l.name}${l === defaultBackend ? ' (default)' : ''}, 1 thread`;
        // One evaluation on its own, min of 3 (the machine is shared).
        const S = new Float64Array(shape.d0 * shape.d0);
        for (let i = 0; i < shape.d0; i++) S[i * shape.d0 + i] = 1 / shape.d0;
        const evalMs = withBackend(l, () =>
          l.withThreads(1, () => {
            const ts: number[] = [];
            for (let k = 0; k < 3; k++) {
              const t = performance.now();
              eosMap(p, S, 1000);
              ts.push(performance.now() - t);
            }
            return Math.min(...ts);
          }),
        );
        line(`EoS one residual evaluation ${tag}, ${name}`, evalMs);
        for (const solver of EOS_SOLVERS) {
          const t = performance.now();
          const r = withBackend(l, () => l.withThreads(1, () => solveEos(p, { schedule: defaultSchedule(), fTol: 5e-4, maxiter: 100, classSizes: shape.sizes, solver })));
          const ms = performance.now() - t;
          const evals = r.steps.reduce((s, x) => s + x.evaluations, 0);
          const isFig7 = shape.N === 1024;
          line(`EoS solve ${tag}, ${solver}, ${name}`, ms, isFig7 ? ref : undefined, isFig7 && solver === 'fast' && bars[l.name] !== undefined ? { ratio: bars[l.name] } : undefined);
          const fellBack = r.steps.filter((s) => s.solver === 'fast+scipy').length;
          console.log(`   ${evals} residual evaluations${isFig7 ? ` (original: ${original.eos_N1024_d128?.residual_evaluations ?? '?'})` : ''}, ${(ms / 1000 / evals).toFixed(3)} s per evaluation (solve time / evaluations); per step: ${r.steps.slice(1).map((s) => s.evaluations).join(' ')}; all converged: ${r.steps.every((s) => s.converged)}${fellBack ? `; ${fellBack} steps fell back to scipy` : ''}`);
          results[`EoS evaluations, ${tag}, ${solver}, ${name}`] = { total: evals, seconds_per_evaluation: ms / 1000 / evals, per_step: r.steps.slice(1).map((s) => s.evaluations), final_nc1: r.steps.at(-1)!.Q1_nc1.nc1, ...(isFig7 ? { original_total: original.eos_N1024_d128?.residual_evaluations } : {}) };
        }
      }
    }
    // Both cores for one solve (the fast solver; a pipeline run gives one node both cores when it is the only one ready).
    console.log('\n# EoS solve N=1024 d0=128, fast solver, 2 threads');
    const p = problemOf(shapes[0]);
    for (const l of [ort, native, jsLinalg]) {
      if (!l) continue;
      const t = performance.now();
      const r = withBackend(l, () => l.withThreads(2, () => solveEos(p, { schedule: defaultSchedule(), fTol: 5e-4, maxiter: 100, classSizes: shapes[0].sizes, solver: 'fast' })));
      const ms = performance.now() - t;
      line(`EoS solve N=1024 d0=128 512/512, fast, ${l.name}, 2 threads`, ms, ref);
      console.log(`   ${r.steps.reduce((s, x) => s + x.evaluations, 0)} residual evaluations`);
    }
  }
}

if (want('train')) {
  console.log('\n# 2-layer net training epoch (float32, full batch, hand-written backward pass), per backend');
  const { trainOnBackend } = await import('../stages/lib/train-backend.ts');
  const { ortInstalled } = await import('../numerics/ort.ts');
  const shapes = [
    [1024, 128, 500, orig('fcn_epoch_N1024_d128_h500', 'ms_per_epoch')],
    [1024, 1, 2000, orig('fcn_epoch_N1024_d1_h2000', 'ms_per_epoch')],
  ] as const;
  const backends = [...(ortInstalled() ? [{ b: 'ort' as const, threads: 1 }, { b: 'ort' as const, threads: 2 }] : []), { b: 'wasm' as const, threads: 1 }];
  for (const [N, d0, h, ref] of shapes) {
    const rng = new Rng(1);
    const X = Float32Array.from(rng.fillNormal(new Float64Array(N * d0)));
    const y = Float32Array.from({ length: N }, (_, i) => (i < N / 2 ? -1 : 1));
    const init = { W1: Float32Array.from(rng.fillNormal(new Float64Array(h * d0), 0, 1 / Math.sqrt(d0))), b1: new Float32Array(h), W2: Float32Array.from(rng.fillNormal(new Float64Array(h), 0, 1.97 / Math.sqrt(h))), b2: 0 };
    const spec = { X, y, N, d0, h, activation: 'erf' as const, lr: 1e-3, weightDecay: 1e-6, momentum: 0, classSizes: [N / 2, N / 2], init };
    for (const { b, threads } of backends) {
      process.env.PIPELINE_ORT_THREADS = String(threads);
      await trainOnBackend({ ...spec, epochs: 10, probeEvery: 1000 }, b); // warm-up: sessions, JIT
      const epochs = b === 'ort' ? 300 : 100;
      const t = performance.now();
      await trainOnBackend({ ...spec, epochs, probeEvery: 1000 }, b);
      line(`epoch N=${N} d0=${d0} h=${h} on ${b}, ${threads} thread${threads > 1 ? 's' : ''}`, (performance.now() - t) / epochs, ref, b === 'ort' && threads === 1 ? { ratio: 0.4 } : undefined);
    }
    delete process.env.PIPELINE_ORT_THREADS;
  }
}

if (want('engine')) {
  console.log('\n# Engine overhead: 10,000 trivial nodes (toy stage), 2 jobs');
  const n = 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-bench-'));
  const files: Record<string, string> = {
    ...TOY_STAGES,
    'configs/many.yml': `sweep:\n  n: [${Array.from({ length: n }, (_, i) => i).join(', ')}]\nstages:\n  source:\n    stage: source\n    params:\n      n: \${n}\n`,
  };
  for (const [f, text] of Object.entries(files)) {
    (await import('node:fs')).mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  const cold = cliWall(['run', 'many', '--jobs', '2'], dir).ms;
  line(`cold run, per node (${n} nodes)`, cold / n, undefined, { ms: 1 });
  const noop = median([0, 1, 2].map(() => cliWall(['run', 'many'], dir).ms));
  line(`no-op run, per node (${n} nodes)`, noop / n, undefined, { ms: 1 });
  line(`no-op run of ${n} nodes, wall`, noop);
  rmSync(dir, { recursive: true, force: true });
}

/** A target run cold in a scratch project with the repository's configs (its cache and reports stay out of the repository). */
function coldTarget(target: string, args: string[] = []): { ms: number; summary: { ran: number }; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), `pipeline-bench-${target}-`));
  cpSync(join(root, 'configs'), join(dir, 'configs'), { recursive: true });
  const r = cliWall(['run', target, '--json', ...args], dir);
  return { ms: r.ms, summary: JSON.parse(r.out), dir };
}

if (want('fig3')) {
  console.log('\n# run fig3 (full profile: 4 N x 5 d0 x 10 repeats; 1004 nodes), 2 cores');
  const cold = coldTarget('fig3');
  // The original's limiting-kernel sweep covers 20 cells x 2 repeats with 2 kernels; fig3 full is
  // 20 cells x 10 repeats x 3 kernels, so 2 x its time is a lower bound for the same work.
  const sweep = orig('limiting_sweep_erf_20cells_2repeats', 'seconds', 1000);
  line(`run fig3 cold (${cold.summary.ran} nodes ran)`, cold.ms, sweep && 2 * sweep, { ms: 10_000 });
  const noop = median([0, 1, 2, 3, 4].map(() => cliWall(['run', 'fig3'], cold.dir).ms));
  line('run fig3 no-op, wall incl. Node start-up', noop, undefined, { ms: 500 });
  const quick = median([0, 1, 2].map(() => cliWall(['run', 'fig3', '--profile', 'quick'], cold.dir).ms));
  line('run fig3 --profile quick no-op, wall', quick);
  rmSync(cold.dir, { recursive: true, force: true });
  console.log('(the original ratio uses 2 x its 20-cell x 2-repeat sweep, a lower bound for fig3 full)');
}

if (want('fig8')) {
  console.log('\n# run fig8 cold (one net N = 1024, d0 = 1, h = 2000, lr 1e-4, 1000 epochs), 2 cores');
  const cold = coldTarget('fig8');
  // The original's fcn.py configs/fcn.yml: one run of the same net.
  line(`run fig8 cold (${cold.summary.ran} nodes ran)`, cold.ms, orig('fcn_epoch_N1024_d1_h2000', 'run_seconds', 1000), { ratio: 0.5 });
  rmSync(cold.dir, { recursive: true, force: true });
}

if (want('fig1')) {
  console.log('\n# run fig1 cold, full profile (200 trainings of 1000 epochs, N up to 1024), 2 cores: minutes');
  const cold = coldTarget('fig1');
  // The original's sequential sweep: its per-run time at N = 1024, d0 = 128 measured here x 200 runs.
  const perRun = orig('fcn_epoch_N1024_d128_h500', 'run_seconds', 1000);
  line(`run fig1 cold, full (${cold.summary.ran} nodes ran)`, cold.ms, perRun && 200 * perRun, { ratio: 0.3 });
  rmSync(cold.dir, { recursive: true, force: true });
}

if (want('command')) {
  console.log('\n# command stage overhead (issue 17): a node running `true` vs a bare spawn of `true`; 1,000 cached command nodes');
  const { spawn } = await import('node:child_process');
  const bare = async () => {
    const t = performance.now();
    await new Promise<void>((res, rej) => spawn('true', [], { stdio: 'ignore' }).on('close', () => res()).on('error', rej));
    return performance.now() - t;
  };
  const bareTimes: number[] = [];
  for (let i = 0; i < 21; i++) bareTimes.push(await bare());
  const bareMs = median(bareTimes);
  line('bare spawn of `true` from Node', bareMs);
  const { runCommand } = await import('../engine/commands.ts');
  const { makeProject, PACKAGE_ROOT, BUILD_DIR } = await import('../test/helpers/project.ts');
  const cfg = (n: number) => `sweep: { i: [${Array.from({ length: n }, (_, k) => k).join(', ')}] }\nstages:\n  t:\n    stage: command\n    params: { i: "\${i}" }\n    shell: "true > $PIPELINE_OUT/x"\n    outputs: [x]\n`;
  // Cold: 40 nodes, one at a time, in process; minus the same run with everything cached.
  const small = makeProject({ 'configs/c.yml': cfg(40) });
  const o = { packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: small, quiet: true, jobs: 1 };
  let t = performance.now();
  await runCommand('c', o);
  const coldMs = performance.now() - t;
  t = performance.now();
  await runCommand('c', o);
  const cachedMs = performance.now() - t;
  line('command node running `true`, cold (per node, 40 nodes, --jobs 1)', (coldMs - cachedMs) / 40, bareMs, { ms: bareMs + 15 });
  rmSync(small, { recursive: true, force: true });
  const big = makeProject({ 'configs/c.yml': cfg(1000) });
  cliWall(['run', 'c'], big);
  const noop = median([0, 1, 2, 3, 4].map(() => cliWall(['run', 'c'], big).ms));
  line('run of 1,000 cached command nodes, no-op, wall incl. Node start-up', noop, undefined, { ms: 500 });
  rmSync(big, { recursive: true, force: true });
}

const out = join(root, 'bench', 'results.json');
let previous: Record<string, unknown> = {};
try {
  previous = JSON.parse(readFileSync(out, 'utf8'));
} catch {
  // first run
}
writeFileSync(out, `${JSON.stringify({ ...previous, ...results, measured: new Date().toISOString() }, null, 1)}\n`);
console.log(`\nwritten: bench/results.json`);
