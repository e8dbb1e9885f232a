import { defineStage, single } from '../engine/stage-api.ts';
import type { Summary, SummaryRow } from './aggregate.ts';
import { renderSvg, seriesEncoding } from './lib/vega.ts';

/** Legend titles of the columns a sweep plot colours by. */
const LEGEND_TITLES: Record<string, string> = { N: 'samples N', d0: 'input dimension d0', class_sizes: 'class sizes', activation: 'activation', model: 'model' };

/** What a legend entry reads: "N = 128", "(256, 1792)", "erf". */
function seriesLabel(column: string, value: unknown): string {
  if (Array.isArray(value)) return `(${value.join(', ')})`;
  if (typeof value === 'number') return `${column} = ${value}`;
  return String(value);
}

/** Legend order: numbers ascending; class-size lists from balanced to most imbalanced (smallest class descending). */
function seriesOrder(rows: SummaryRow[], column: string): string[] {
  const raw = [...new Map(rows.map((r) => [JSON.stringify(r[column]), r[column]])).values()];
  if (raw.every((v) => typeof v === 'number')) (raw as number[]).sort((a, b) => a - b);
  else if (raw.every((v) => Array.isArray(v))) (raw as number[][]).sort((a, b) => Math.min(...b) - Math.min(...a));
  return [...new Set(raw.map((v) => seriesLabel(column, v)))];
}

export default defineStage({
  description: 'Line plot with a mean ± std band (Vega-Lite, rendered to SVG headless): one line per color value, one panel per facet value',
  light: true,
  params: {
    title: { type: 'string', default: '', doc: 'figure title' },
    y: { type: 'string', enum: ['log10_nc1', 'rel_log10_nc1'], default: 'log10_nc1', doc: 'which summary column' },
    y_title: { type: 'string', default: 'log10 NC1', doc: 'y axis title' },
    x: { type: 'string', default: 'd0', doc: 'x column (log2 axis)' },
    color: { type: 'string', default: 'N', doc: 'one line per value of this column (colour, dash and point shape; one legend)' },
    color_title: { type: 'string', optional: true, doc: 'legend title (default: from the column, e.g. "samples N", "class sizes")' },
    facet: { type: 'string', default: 'model', doc: 'one panel per value of this column' },
    row: { type: 'string', optional: true, doc: 'one row of panels per value of this column (e.g. activation)' },
    width: { type: 'integer', min: 50, default: 220, doc: 'panel width (px)' },
    height: { type: 'integer', min: 50, default: 180, doc: 'panel height (px)' },
  },
  inputs: { summary: { doc: 'an aggregate node' } },
  async run({ params: p, inputs }) {
    const summary = single(inputs.summary, 'summary').json<Summary>('summary.json');
    const values = summary.rows
      .filter((r) => r[`${p.y}_mean`] !== null)
      .map((r) => {
        const mean = r[`${p.y}_mean`] as number;
        const std = (r[`${p.y}_std`] as number | null) ?? 0;
        return { ...r, class_sizes: r.class_sizes.join(':'), series: seriesLabel(p.color, r[p.color]), mean, lo: mean - std, hi: mean + std } as Record<string, unknown>;
      });
    const x = { field: p.x, type: 'quantitative', title: p.x, scale: { type: 'log', base: 2 }, axis: { values: [...new Set(values.map((v) => v[p.x] as number))], grid: true } };
    const series = seriesEncoding('series', p.color_title ?? LEGEND_TITLES[p.color] ?? p.color, seriesOrder(summary.rows, p.color));
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: p.title,
      data: { values },
      facet: {
        column: { field: p.facet, type: 'nominal', title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } },
        ...(p.row ? { row: { field: p.row, type: 'nominal', title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } } } : {}),
      },
      spec: {
        width: p.width,
        height: p.height,
        layer: [
          // The lines come first so that the legend draws their symbols (colour, dash, shape);
          // the ±std band behind them carries the colour only.
          { mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 1.8 }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: p.y_title }, ...series } },
          { mark: { type: 'area', opacity: 0.15 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: p.y_title }, y2: { field: 'hi' }, color: series.color } },
        ],
      },
      config: { font: 'sans-serif', view: { stroke: '#ddd' }, axis: { titleFontSize: 12, labelFontSize: 11 }, legend: { titleFontSize: 12, labelFontSize: 11 } },
    };
    return { 'figure.svg': await renderSvg(spec), 'spec.json': spec };
  },
});
