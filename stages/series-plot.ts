import { defineStage, single } from '../engine/stage-api.ts';
import { renderSvg } from './lib/vega.ts';
import { pick } from './lib/json.ts';

interface Params {
  source: string;
  x: string;
  y: string[];
  title: string;
  y_title: string;
  log_y: boolean;
  width: number;
  height: number;
}

export default defineStage<Params>({
  description: 'Line plot of fields of a JSON list (e.g. per-step records) against one field; one line per field',
  params: {
    source: { type: 'string', doc: 'output file of the input node holding a JSON list, e.g. steps.json' },
    x: { type: 'string', doc: 'field on the x axis' },
    y: { type: 'string[]', doc: 'dotted paths of the fields to plot, one line each' },
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
    const values = list.flatMap((row) =>
      p.y.map((field) => ({ x: pick(row, p.x), series: field, value: pick(row, field) })).filter((v) => typeof v.value === 'number' && (!p.log_y || (v.value as number) > 0)),
    );
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: p.title,
      width: p.width,
      height: p.height,
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: p.x },
        y: { field: 'value', type: 'quantitative', title: p.y_title || p.y.join(', '), scale: p.log_y ? { type: 'log' } : { zero: false } },
        color: { field: 'series', type: 'nominal', title: null },
      },
      config: { font: 'sans-serif' },
    };
    return { 'figure.svg': await renderSvg(spec), 'spec.json': spec };
  },
});
