import { defineStage, gathered } from '../engine/stage-api.ts';
import { renderSvg, seriesEncoding } from './lib/vega.ts';
import type { MetricsRow } from './nc-metrics.ts';

interface Panel {
  file: string;
  title: string;
  y: string;
  /** Fields and the name of each line (one line per field and run). */
  fields: [keyof MetricsRow, string][];
  log?: boolean;
}

/** Papyan, Han & Donoho (PNAS 2020), Figures 2–7, in their order. */
export const PANELS: Panel[] = [
  { file: 'equinorm.svg', title: 'NC2 equinorm: std/mean of the norms', y: 'std / mean', fields: [['equinorm_means', 'class means'], ['equinorm_classifier', 'classifier']] },
  { file: 'equiangularity.svg', title: 'NC2 equiangularity: std of the pairwise cosines', y: 'std of cosines', fields: [['equiangular_means', 'class means'], ['equiangular_classifier', 'classifier']] },
  { file: 'max-angle.svg', title: 'NC2 max-angle: mean |cos + 1/(C−1)|', y: 'mean |cos + 1/(C−1)|', fields: [['max_angle_means', 'class means'], ['max_angle_classifier', 'classifier']] },
  { file: 'self-duality.svg', title: 'NC3 self-duality: ‖W/‖W‖ − M/‖M‖‖²', y: 'distance²', fields: [['self_duality', 'W vs M']] },
  { file: 'nc1.svg', title: 'NC1: Tr(Σ_W Σ_B⁺)/C', y: 'NC1 (log)', fields: [['nc1', 'NC1']], log: true },
  { file: 'ncc-mismatch.svg', title: 'NC4: classifier vs nearest class mean', y: 'fraction of samples that disagree', fields: [['ncc_mismatch', 'mismatch']] },
];

export default defineStage({
  description: 'Six panels after Papyan et al. Figures 2–7: NC1–NC4 against epoch for each run, the epoch of zero training error marked',
  light: true,
  params: {
    width: { type: 'integer', min: 50, default: 360, doc: 'panel width (px)' },
    height: { type: 'integer', min: 50, default: 220, doc: 'panel height (px)' },
  },
  inputs: { metrics: { doc: 'nc-metrics nodes, one line set per run', gather: true } },
  async run({ params: p, inputs }) {
    const runs = gathered(inputs.metrics).map((h) => ({ rows: h.json<MetricsRow[]>('metrics.json'), summary: h.json<{ label: string; zero_error_epoch: number | null }>('summary.json') }));
    if (runs.length === 0) throw new Error('no nc-metrics nodes to plot');
    const outputs: Record<string, string> = {};
    for (const panel of PANELS) {
      const values = runs.flatMap(({ rows, summary }) =>
        rows.flatMap((r) =>
          panel.fields
            .map(([field, name]) => ({ epoch: r.epoch, value: r[field] as number, line: panel.fields.length > 1 ? `${summary.label}: ${name}` : summary.label }))
            .filter((v) => Number.isFinite(v.value) && (!panel.log || v.value > 0)),
        ),
      );
      const rules = runs.filter((r) => r.summary.zero_error_epoch !== null).map((r) => ({ epoch: r.summary.zero_error_epoch, run: `${r.summary.label}: zero training error` }));
      const spec = {
        $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
        title: panel.title,
        width: p.width,
        height: p.height,
        layer: [
          {
            data: { values },
            mark: { type: 'line', point: { size: 12 } },
            encoding: {
              x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
              y: { field: 'value', type: 'quantitative', title: panel.y, scale: panel.log ? { type: 'log' } : { zero: true } },
              ...seriesEncoding('line', 'run', [...new Set(values.map((v) => v.line))]),
            },
          },
          {
            data: { values: rules },
            mark: { type: 'rule', strokeDash: [4, 3], color: 'gray' },
            encoding: { x: { field: 'epoch', type: 'quantitative' }, tooltip: { field: 'run' } },
          },
        ],
        config: { font: 'sans-serif' },
      };
      outputs[panel.file] = await renderSvg(spec);
    }
    return outputs;
  },
});
