import { defineStage, gathered, single } from '../engine/stage-api.ts';
import { REPORT_PARAMS } from './lib/report-params.ts';
import { aboutSection, fmt, splitDescription, table } from './lib/markdown.ts';
import { COLLAPSE_METRICS as METRICS, type NcSummary as Summary } from './nc-metrics.ts';
import { PANELS } from './nc-panels.ts';

const num = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? 'n/a' : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : fmt(v, 4));

function finding(s: Summary, bar: number): string {
  if (s.zero_error_epoch === null) return `${s.label}: **training error never reached 0** (final ${fmt(100 * s.final_train_error, 1)}%), so there is no terminal phase to measure.`;
  const fall = s.nc1_fall ?? NaN;
  const verdict = fall >= bar ? `falls ${fall.toFixed(1)}x (bar ${bar}x: met)` : `falls only ${fall.toFixed(2)}x (bar ${bar}x: **not met**)`;
  const toward = METRICS.slice(1).filter(([k]) => {
    const [a, b] = [s.at_zero_error?.[k] ?? NaN, s.at_end[k] ?? NaN];
    return b < a || (a === 0 && b === 0);
  }).length;
  return `${s.label}: zero training error at epoch ${s.zero_error_epoch}; from then to epoch ${s.end_epoch}, NC1 ${verdict}; ${toward} of ${METRICS.length - 1} other metrics decrease (or stay at 0).`;
}

export default defineStage({
  description: 'Markdown report of neural-collapse dynamics: six panels, metrics at zero training error and at the end, findings; results.json',
  light: true,
  params: {
    ...REPORT_PARAMS,
    nc1_fall_bar: { type: 'number', greaterThan: 0, default: 10, doc: 'NC1 fall (zero error -> end) that counts as collapse' },
  },
  inputs: {
    metrics: { doc: 'nc-metrics nodes', gather: true },
    panels: { doc: 'the nc-panels node' },
  },
  run({ params: p, inputs }) {
    const runs = gathered(inputs.metrics).map((h) => h.json<Summary>('summary.json'));
    const panels = single(inputs.panels, 'panels');
    const findings = runs.map((s) => finding(s, p.nc1_fall_bar));
    const { lead, rest } = splitDescription(p.description);
    const md = [
      `# ${p.title}`,
      '',
      ...(lead ? [lead, ''] : []),
      '## Findings',
      '',
      ...findings.map((f) => `- ${f}`),
      `- Profile \`${p.profile}\`. The dashed line in each panel marks the epoch of zero training error.`,
      '',
      ...PANELS.flatMap((q) => [`![${q.title}](./${q.file})`, '']),
      '## At zero training error and at the end',
      '',
      table(
        ['metric', ...runs.flatMap((s) => [`${s.label}: epoch ${s.zero_error_epoch ?? 'n/a'}`, `${s.label}: epoch ${s.end_epoch}`])],
        METRICS.map(([k, name]) => [name, ...runs.flatMap((s) => [num(s.at_zero_error?.[k]), num(s.at_end[k])])]),
      ),
      '',
      table(['run', 'final train error', 'final test error'], runs.map((s) => [s.label, `${fmt(100 * s.final_train_error, 1)}%`, s.final_test_error === null ? 'n/a' : `${fmt(100 * s.final_test_error, 1)}%`])),
      '',
      'Machine-readable: [results.json](./results.json).',
      '',
      ...aboutSection(rest),
    ].join('\n');
    const outputs: Record<string, unknown> = {
      'README.md': md,
      'results.json': { target: p.target, profile: p.profile, headline: findings[0]?.replace(/\*\*/g, '') ?? '', figure: 'nc1.svg', runs },
    };
    for (const q of PANELS) outputs[q.file] = panels.text(q.file);
    return outputs;
  },
});
