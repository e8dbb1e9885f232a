import { defineStage, gathered, single, type InputHandle, type StageOutputs, type StageParams } from '../engine/stage-api.ts';
import type { Summary, SummaryRow } from './aggregate.ts';
import { REPORT_PARAMS } from './lib/report-params.ts';
import { aboutSection, fmt, meanStd, splitDescription, table } from './lib/markdown.ts';

/** The params as run receives them, typed from the spec below. */
type Params = StageParams<typeof import('./report.ts').default>;

const cellKey = (r: SummaryRow) => `${r.activation}|${r.N}|${r.d0}|${r.class_sizes.join(':')}`;

/** "a:b": how a's log10 NC1 compares with b's over the cells both have (a Markdown bullet). */
function comparison(rows: SummaryRow[], spec: string): string {
  const [a, b] = spec.split(':');
  const bs = new Map(rows.filter((r) => r.model === b && r.log10_nc1_mean !== null).map((r) => [cellKey(r), r]));
  const diffs = rows
    .filter((r) => r.model === a && r.log10_nc1_mean !== null && bs.has(cellKey(r)))
    .map((r) => (r.log10_nc1_mean as number) - (bs.get(cellKey(r))!.log10_nc1_mean as number));
  if (!diffs.length) return `- ${a} vs ${b}: no cells in common.`;
  const above = diffs.filter((d) => d > 0).length;
  const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
  return `- **${a}** NC1 is above **${b}** NC1 in ${above} of ${diffs.length} cells; on average by ${fmt(mean, 2)} dex (factor ${fmt(10 ** mean, 2)}), ranging ${fmt(Math.min(...diffs), 2)} to ${fmt(Math.max(...diffs), 2)} dex.`;
}

/** Columns of an aggregate's runs.csv that are results, not the run's identity. */
const RESULT_COLUMNS = new Set(['model', 'value', 'failed', 'log10', 'rel', 'ref']);

interface Agreement {
  a: string;
  b: string;
  /** Pairs of runs on the same data (every other column of runs.csv equal). */
  runs: number;
  /** Runs of a or b without a partner, or without a finite log10 NC1. */
  unmatched: number;
  max_abs_delta_log10_nc1: number | null;
  /** The run of a where it is largest (its sweep coordinates). */
  worst: Record<string, unknown> | null;
  tolerance: number;
  within: boolean;
}

/**
 * "a:b": two implementations of one computation, run by run (the same data node): the largest
 * |log10 NC1(a) − log10 NC1(b)| over all runs, from the aggregate's runs.csv (full precision).
 */
function agreement(runs: Record<string, unknown>[], spec: string, tolerance: number): Agreement {
  const [a, b] = spec.split(':');
  const identity = (r: Record<string, unknown>) => JSON.stringify(Object.keys(r).filter((k) => !RESULT_COLUMNS.has(k)).sort().map((k) => [k, r[k]]));
  const bs = new Map(runs.filter((r) => r.model === b).map((r) => [identity(r), r]));
  const as = runs.filter((r) => r.model === a);
  let max: number | null = null;
  let worst: Record<string, unknown> | null = null;
  let matched = 0;
  for (const r of as) {
    const o = bs.get(identity(r));
    if (!o || typeof r.log10 !== 'number' || typeof o.log10 !== 'number' || !Number.isFinite(r.log10) || !Number.isFinite(o.log10)) continue;
    matched++;
    const d = Math.abs(r.log10 - o.log10);
    if (max === null || d > max) {
      max = d;
      worst = Object.fromEntries(Object.entries(r).filter(([k]) => !RESULT_COLUMNS.has(k)));
    }
  }
  const unmatched = as.length + bs.size - 2 * matched;
  return { a, b, runs: matched, unmatched, max_abs_delta_log10_nc1: max, worst, tolerance, within: max !== null && max <= tolerance && unmatched === 0 };
}

function agreementLine(g: Agreement): string {
  if (g.max_abs_delta_log10_nc1 === null) return `- **${g.a}** against **${g.b}**: no runs on the same data (${g.unmatched} runs without a partner).`;
  // Where: the run's sweep cell (N, d0, repeat, ...), without the columns every run shares.
  const cell = Object.entries(g.worst ?? {}).filter(([k, v]) => !['activation', 'class_sizes', '_ref'].includes(k) && v !== null && v !== '');
  const where = cell.length ? ` (largest at ${cell.map(([k, v]) => `${k} = ${v}`).join(', ')})` : '';
  const verdict = g.within ? `within the tolerance ${g.tolerance.toExponential(0)}` : `**not within the tolerance ${g.tolerance.toExponential(0)}**`;
  const missing = g.unmatched ? `; **${g.unmatched} runs without a partner or a finite NC1**` : '';
  return `- **${g.a}** against **${g.b}**: largest |Δ log10 NC1| = ${g.max_abs_delta_log10_nc1.toExponential(2)} over ${g.runs} runs on the same data${where}, ${verdict}${missing}.`;
}

/** "a:b" of activations: per model, how its log10 NC1 with a compares with b over the cells both have (one bullet a model). */
function activationComparison(rows: SummaryRow[], spec: string): string[] {
  const [a, b] = spec.split(':');
  const key = (r: SummaryRow) => `${r.model}|${r.N}|${r.d0}|${r.class_sizes.join(':')}`;
  const models = [...new Set(rows.map((r) => r.model))];
  return models.map((model) => {
    const bs = new Map(rows.filter((r) => r.model === model && r.activation === b && r.log10_nc1_mean !== null).map((r) => [key(r), r]));
    const diffs = rows
      .filter((r) => r.model === model && r.activation === a && r.log10_nc1_mean !== null && bs.has(key(r)))
      .map((r) => (r.log10_nc1_mean as number) - (bs.get(key(r))!.log10_nc1_mean as number));
    if (!diffs.length) return `- ${model}: ${a} vs ${b}: no cells in common.`;
    const below = diffs.filter((d) => d < 0).length;
    const m = diffs.reduce((s, d) => s + d, 0) / diffs.length;
    return `- **${model}**: NC1 with **${a}** is below NC1 with **${b}** in ${below} of ${diffs.length} cells; on average by ${fmt(-m, 2)} dex (factor ${fmt(10 ** -m, 2)}), the difference ${a} − ${b} ranging ${fmt(Math.min(...diffs), 2)} to ${fmt(Math.max(...diffs), 2)} dex.`;
  });
}

interface StepRow {
  step: number;
  annealing_factor: number | null;
  trace_Sigma: number;
  Q1_nc1: { Tr_Sigma_W: number; Tr_Sigma_B: number; nc1: number };
  converged: boolean;
  residual_max: number;
  evaluations: number;
  /** Absent in records from before the solver choice (all were scipy Newton–Krylov). */
  solver?: string;
}

function traceHeadline(rows: StepRow[], stats?: Record<string, unknown>): string {
  if (rows.length) {
    const a = rows[0].Q1_nc1.nc1;
    const b = rows[rows.length - 1].Q1_nc1.nc1;
    return `NC1 of Q1 goes from ${a.toExponential(3)} at the NNGP point to ${b.toExponential(3)} at χ = ${rows[rows.length - 1].annealing_factor} (${(b / a).toFixed(3)}x).`;
  }
  if (stats && typeof stats.nc1 === 'number' && typeof stats.nc1_init === 'number') {
    return `Hidden-feature NC1 goes from ${(stats.nc1_init as number).toExponential(3)} at initialisation to ${(stats.nc1 as number).toExponential(3)} after training (${((stats.nc1 as number) / (stats.nc1_init as number)).toFixed(3)}x); final loss ${(stats.final_loss as number).toExponential(3)}.`;
  }
  return '';
}

/** A report of one run (no sweep): description, figures, and the per-step record if given. */
function traceReport(p: Params, steps: InputHandle | undefined, plots: InputHandle[], run?: InputHandle): Record<string, unknown> {
  const rows = steps ? steps.json<StepRow[]>('steps.json') : [];
  const source = steps ?? run;
  const stats = source?.outputs.includes('stats.json') ? source.json<Record<string, unknown>>('stats.json') : undefined;
  const failed = rows.filter((r) => !r.converged);
  const { lead, rest } = splitDescription(p.description);
  const headline = traceHeadline(rows, stats);
  const md = [
    `# ${p.title}`,
    '',
    ...(lead ? [lead, ''] : []),
    '## Findings',
    '',
    ...(headline ? [`- ${headline}`] : []),
    ...(stats && steps ? [`- Run: N = ${stats.N}, d0 = ${stats.d0}, class sizes ${(stats.class_sizes as number[]).join('/')}; ${stats.evaluations} residual evaluations in all (EoS solver \`${stats.solver ?? 'scipy'}\`${Array.isArray(stats.fallback_steps) && stats.fallback_steps.length ? `; fell back to scipy at χ = ${(stats.fallback_steps as number[]).join(', ')}` : ''}); profile \`${p.profile}\`.`] : [`- Profile \`${p.profile}\`.`]),
    ...(failed.length ? [`- **${failed.length} annealing steps did not converge** (χ = ${failed.map((r) => r.annealing_factor).join(', ')}); their values are shown as reached.`] : rows.length ? ['- Every annealing step converged.'] : []),
    '',
    ...plots.flatMap((h) => [`![${h.stage}](./${h.stage}.svg)`, '']),
    ...(rows.length
      ? [
          '## Per annealing step',
          '',
          table(
            ['step', 'χ', 'NC1 of Q1', 'Tr Σ_W', 'Tr Σ_B', 'tr Σ', 'max |F|', 'solver', 'evaluations', 'converged'],
            rows.map((r) => [r.step, r.annealing_factor ?? 'NNGP (Σ0)', r.Q1_nc1.nc1.toExponential(4), r.Q1_nc1.Tr_Sigma_W.toExponential(4), r.Q1_nc1.Tr_Sigma_B.toExponential(4), fmt(r.trace_Sigma, 5), r.residual_max.toExponential(1), r.step === 0 ? '' : (r.solver ?? 'scipy'), r.evaluations, r.converged ? 'yes' : '**no**']),
          ),
          '',
        ]
      : []),
    ...(stats && !steps
      ? ['## The run', '', table(['quantity', 'value'], Object.entries(stats).map(([k, v]) => [k, typeof v === 'number' ? (Number.isInteger(v) ? v : v.toExponential(4)) : Array.isArray(v) ? v.join('/') : String(v)])), '']
      : []),
    'Machine-readable: [results.json](./results.json).',
    '',
    ...aboutSection(rest),
  ].join('\n');
  // The per-step Σ (d0² numbers a step) stays in the cache: results.json holds what is plotted.
  const plotted = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'Sigma')));
  const outputs: Record<string, unknown> = { 'README.md': md, 'results.json': { target: p.target, profile: p.profile, headline, steps: plotted, stats: stats ?? null } };
  for (const h of plots) outputs[`${h.stage}.svg`] = h.text('figure.svg');
  return outputs;
}

/** Without a comparison: how the first model's NC1 moves across d0 at the largest N. */
function trend(rows: SummaryRow[]): string {
  const model = rows[0]?.model;
  const N = Math.max(...rows.filter((r) => r.model === model).map((r) => r.N));
  const line = rows.filter((r) => r.model === model && r.N === N && r.log10_nc1_mean !== null).sort((a, b) => a.d0 - b.d0);
  if (line.length < 2) return `${rows.length} cells.`;
  const [a, b] = [line[0], line[line.length - 1]];
  return `${model}: log10 NC1 goes from ${fmt(a.log10_nc1_mean, 2)} at d0 = ${a.d0} to ${fmt(b.log10_nc1_mean, 2)} at d0 = ${b.d0} (N = ${N}).`;
}

/** The aggregate's per-run table (runs.csv), numbers at full precision. */
async function runsOf(summary: InputHandle): Promise<Record<string, unknown>[]> {
  // Imported here: the scheduler loads every stage module to read its params.
  const aq = await import('arquero');
  return aq.fromCSV(summary.text('runs.csv')).objects() as Record<string, unknown>[];
}

/** One line over every agreement pair: the largest difference of all, or undefined without pairs. */
function overallAgreement(gs: Agreement[]): string | undefined {
  if (!gs.length) return undefined;
  const measured = gs.filter((g) => g.max_abs_delta_log10_nc1 !== null);
  const runs = gs.reduce((n, g) => n + g.runs, 0);
  if (!measured.length) return `- **No runs to compare** between ${gs.map((g) => `${g.a} and ${g.b}`).join(', ')}.`;
  const worst = measured.reduce((x, g) => (g.max_abs_delta_log10_nc1! > x.max_abs_delta_log10_nc1! ? g : x));
  const all = gs.every((g) => g.within);
  return `- **Largest |Δ log10 NC1| over all ${runs} pairs of runs: ${worst.max_abs_delta_log10_nc1!.toExponential(2)}** (${worst.a} against ${worst.b}); ${all ? `every pair within ${worst.tolerance.toExponential(0)}` : '**some pairs are not within the tolerance or lack a partner**'}.`;
}

export default defineStage({
  description: 'Markdown report: description, SVG figures, the numbers as a table, comparisons; and results.json',
  light: true,
  params: {
    ...REPORT_PARAMS,
    compare: { type: 'string[]', default: [], doc: 'pairs "a:b" of models whose log10 NC1 to compare cell by cell' },
    agreement: { type: 'string[]', default: [], doc: 'pairs "a:b" of models that compute the same thing two ways: the largest |Δ log10 NC1| run by run (same data), against agreement_tolerance' },
    agreement_tolerance: { type: 'number', greaterThan: 0, default: 1e-10, doc: 'largest |Δ log10 NC1| an agreement pair may show' },
    compare_activations: { type: 'string[]', default: [], doc: 'pairs "a:b" of activations whose log10 NC1 to compare cell by cell, per model (listed first: what an activation figure is about)' },
  },
  inputs: {
    summary: { doc: 'an aggregate node (sweep figures)', optional: true },
    steps: { doc: 'an eos node: its per-annealing-step record becomes a table (trace figures)', optional: true },
    run: { doc: 'a node whose stats.json is shown as a table (one-run figures)', optional: true },
    plots: { doc: 'plot nodes; each becomes <stage>.svg beside the report', gather: true, optional: true },
  },
  async run({ params: p, inputs }): Promise<StageOutputs> {
    if (!inputs.summary) return traceReport(p, inputs.steps ? single(inputs.steps, 'steps') : undefined, gathered(inputs.plots), inputs.run ? single(inputs.run, 'run') : undefined);
    const summary = single(inputs.summary, 'summary').json<Summary>('summary.json');
    const rows = summary.rows;
    const plots = gathered(inputs.plots);
    const failed = rows.reduce((s, r) => s + r.failed, 0);
    const total = rows.reduce((s, r) => s + r.repeats, 0);
    const notConverged = rows.reduce((s, r) => s + ((r.not_converged as number | undefined) ?? 0), 0);
    const dims = (k: keyof SummaryRow) => [...new Set(rows.map((r) => String(r[k])))].join(', ');
    const runs = p.agreement.length ? await runsOf(single(inputs.summary, 'summary')) : [];
    const agreements = p.agreement.map((g) => agreement(runs, g, p.agreement_tolerance));
    const overall = overallAgreement(agreements);
    const byActivation = p.compare_activations.flatMap((c) => activationComparison(rows, c));
    // One line for the paper's index, computed from these rows: the agreement over all cells, else
    // the activations' comparison, else the first comparison, else the trend.
    const headline = overall
      ? overall.replace(/^- /, '').replace(/\*\*/g, '')
      : byActivation.length
        ? byActivation.map((l) => l.replace(/^- /, '').replace(/\*\*/g, '').replace(/; on average.*$/, '')).join('; ') + '.'
        : p.compare.length
          ? comparison(rows, p.compare[0]).replace(/^- /, '').replace(/\*\*/g, '')
          : trend(rows);
    const { lead, rest } = splitDescription(p.description);
    const md = [
      `# ${p.title}`,
      '',
      ...(lead ? [lead, ''] : []),
      '## Findings',
      '',
      ...(overall ? [overall, ...agreements.map(agreementLine)] : []),
      ...byActivation,
      ...(p.compare.length ? p.compare.map((c) => comparison(rows, c)) : overall || byActivation.length ? [] : [`- ${headline}`]),
      failed ? `- **${failed} of ${total} runs failed** (NC1 not finite or not positive) and are left out of the means; the table counts them per cell.` : `- All ${total} runs produced a finite NC1.`,
      ...(notConverged ? [`- **${notConverged} runs did not converge**; their values are included and counted in the table.`] : []),
      `- Profile \`${p.profile}\`: models ${dims('model')}; N ∈ {${dims('N')}}; d0 ∈ {${dims('d0')}}; ${total} runs in ${rows.length} cells.`,
      '',
      ...plots.flatMap((h) => [`![${h.stage}](./${h.stage}.svg)`, '']),
      '## Numbers',
      '',
      `log10 of ${summary.metric} (mean ± std over repeats) and log10(NC1 / (NC1(X) + 1e-8)) with NC1(X) = ${summary.reference_metric} of the input data.`,
      '',
      table(
        ['model', 'activation', 'N', 'd0', 'class sizes', 'runs', 'failed', 'log10 NC1', 'relative log10 NC1'],
        rows.map((r) => [r.model, r.activation ?? '', r.N, r.d0, r.class_sizes.join('/'), r.repeats, r.failed, meanStd(r.log10_nc1_mean, r.log10_nc1_std), meanStd(r.rel_log10_nc1_mean, r.rel_log10_nc1_std)]),
      ),
      '',
      'Machine-readable: [results.json](./results.json).',
      '',
      ...aboutSection(rest),
    ].join('\n');
    const outputs: Record<string, unknown> = {
      'README.md': md,
      'results.json': { target: p.target, profile: p.profile, headline, rows, ...(agreements.length ? { agreement: agreements } : {}) },
    };
    for (const h of plots) outputs[`${h.stage}.svg`] = h.text('figure.svg');
    return outputs;
  },
});
