import { defineStage, gathered, single, type InputHandle } from '../engine/stage-api.ts';
import type { Summary, SummaryRow } from './aggregate.ts';
import { REPORT_PARAMS } from './lib/report-params.ts';
import { aboutSection, fmt, meanStd, splitDescription, table } from './lib/markdown.ts';

interface Params {
  title: string;
  description: string;
  target: string;
  profile: string;
  compare: string[];
  compare_activations: string[];
}

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
    ...(stats && steps ? [`- Run: N = ${stats.N}, d0 = ${stats.d0}, class sizes ${(stats.class_sizes as number[]).join('/')}; ${stats.evaluations} residual evaluations in all; profile \`${p.profile}\`.`] : [`- Profile \`${p.profile}\`.`]),
    ...(failed.length ? [`- **${failed.length} annealing steps did not converge** (χ = ${failed.map((r) => r.annealing_factor).join(', ')}); their values are shown as reached.`] : rows.length ? ['- Every annealing step converged.'] : []),
    '',
    ...plots.flatMap((h) => [`![${h.stage}](./${h.stage}.svg)`, '']),
    ...(rows.length
      ? [
          '## Per annealing step',
          '',
          table(
            ['step', 'χ', 'NC1 of Q1', 'Tr Σ_W', 'Tr Σ_B', 'tr Σ', 'max |F|', 'evaluations', 'converged'],
            rows.map((r) => [r.step, r.annealing_factor ?? 'NNGP (Σ0)', r.Q1_nc1.nc1.toExponential(4), r.Q1_nc1.Tr_Sigma_W.toExponential(4), r.Q1_nc1.Tr_Sigma_B.toExponential(4), fmt(r.trace_Sigma, 5), r.residual_max.toExponential(1), r.evaluations, r.converged ? 'yes' : '**no**']),
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

export default defineStage<Params>({
  description: 'Markdown report: description, SVG figures, the numbers as a table, comparisons; and results.json',
  light: true,
  params: {
    ...REPORT_PARAMS,
    compare: { type: 'string[]', default: [], doc: 'pairs "a:b" of models whose log10 NC1 to compare cell by cell' },
    compare_activations: { type: 'string[]', default: [], doc: 'pairs "a:b" of activations whose log10 NC1 to compare cell by cell, per model (listed first: what an activation figure is about)' },
  },
  inputs: {
    summary: { doc: 'an aggregate node (sweep figures)', optional: true },
    steps: { doc: 'an eos node: its per-annealing-step record becomes a table (trace figures)', optional: true },
    run: { doc: 'a node whose stats.json is shown as a table (one-run figures)', optional: true },
    plots: { doc: 'plot nodes; each becomes <stage>.svg beside the report', gather: true, optional: true },
  },
  run({ params: p, inputs }) {
    if (!inputs.summary) return traceReport(p, inputs.steps ? single(inputs.steps, 'steps') : undefined, gathered(inputs.plots), inputs.run ? single(inputs.run, 'run') : undefined);
    const summary = single(inputs.summary, 'summary').json<Summary>('summary.json');
    const rows = summary.rows;
    const plots = gathered(inputs.plots);
    const failed = rows.reduce((s, r) => s + r.failed, 0);
    const total = rows.reduce((s, r) => s + r.repeats, 0);
    const notConverged = rows.reduce((s, r) => s + ((r.not_converged as number | undefined) ?? 0), 0);
    const dims = (k: keyof SummaryRow) => [...new Set(rows.map((r) => String(r[k])))].join(', ');
    // One line for the paper's index: the first comparison, computed from these rows.
    const byActivation = p.compare_activations.flatMap((c) => activationComparison(rows, c));
    const headline = byActivation.length
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
      ...byActivation,
      ...(p.compare.length ? p.compare.map((c) => comparison(rows, c)) : byActivation.length ? [] : [`- ${headline}`]),
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
      'results.json': { target: p.target, profile: p.profile, headline, rows },
    };
    for (const h of plots) outputs[`${h.stage}.svg`] = h.text('figure.svg');
    return outputs;
  },
});
