import { defineStage, single } from '../engine/stage-api.ts';
import { renderSvg, seriesEncoding } from './lib/vega.ts';
import { pick } from './lib/json.ts';

export default defineStage({
  description: 'Line plot of fields of a JSON list (e.g. per-step records) against one field; one line per field',
  light: true,
  params: {
    source: { type: 'string', doc: 'output file of the input node holding a JSON list, e.g. steps.json' },
    x: { type: 'string', doc: 'field on the x axis (also its axis title)' },
    y: { type: 'string[]', doc: 'dotted paths of the fields to plot, one line each' },
    labels: { type: 'string[]', optional: true, doc: 'legend label of each y field, in order (default: the field paths)' },
    legend_title: { type: 'string', default: 'series', doc: 'legend title (shown when there are two or more y fields)' },
    title: { type: 'string', default: '', doc: 'figure title' },
    y_title: { type: 'string', default: '', doc: 'y axis title' },
    log_y: { type: 'boolean', default: false, doc: 'log10 y axis' },
    width: { type: 'integer', min: 50, default: 420, doc: 'width (px)' },
    height: { type: 'integer', min: 50, default: 220, doc: 'height (px)' },
  },
  inputs: { data: { doc: 'the node holding the list' } },
  async run({ params: p, inputs }) {
    const list = single(inputs.data, 'data').json<unknown[]>(p.source);
    if (!Array.isArray(list)) throw new Error(`${p.source} is not a JSON list`);
    if (p.labels && p.labels.length !== p.y.length) throw new Error(`labels has ${p.labels.length} entries, y has ${p.y.length}: give one label per y field`);
    const labelOf = (i: number) => p.labels?.[i] ?? p.y[i];
    const values = list.flatMap((row) =>
      p.y.map((field, i) => ({ x: pick(row, p.x), series: labelOf(i), value: pick(row, field) })).filter((v) => typeof v.value === 'number' && (!p.log_y || (v.value as number) > 0)),
    );
    const wholeX = values.every((v) => Number.isInteger(v.x));
    // One field needs no legend: the y axis title names it.
    const series = p.y.length > 1 ? seriesEncoding('series', p.legend_title, p.y.map((_, i) => labelOf(i))) : {};
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: p.title,
      width: p.width,
      height: p.height,
      data: { values },
      mark: { type: 'line', point: { filled: true, size: 20 }, strokeWidth: 1.8 },
      encoding: {
        // Steps, epochs and indices are whole numbers: no "1.000000" or "2.5" ticks.
        x: { field: 'x', type: 'quantitative', title: p.x, ...(wholeX ? { axis: { format: 'd', tickMinStep: 1 } } : {}) },
        y: { field: 'value', type: 'quantitative', title: p.y_title || (p.y.length === 1 ? labelOf(0) : p.legend_title), scale: p.log_y ? { type: 'log' } : { zero: false } },
        ...series,
      },
      config: { font: 'sans-serif', axis: { titleFontSize: 12, labelFontSize: 11 }, legend: { titleFontSize: 12, labelFontSize: 11 } },
    };
    return { 'figure.svg': await renderSvg(spec), 'spec.json': spec };
  },
});
