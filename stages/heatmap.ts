import { defineStage, single } from '../engine/stage-api.ts';
import { renderSvg } from './lib/vega.ts';

export default defineStage({
  description: 'Heatmap of a stored N x N matrix (or the difference of two), block-averaged to at most cells x cells',
  light: true,
  params: {
    array: { type: 'string', doc: 'the matrix, e.g. Q1_final.f64' },
    minus: { type: 'string', optional: true, doc: 'subtract this matrix of the same node (a difference map)' },
    cells: { type: 'integer', min: 2, default: 64, doc: 'blocks per side (a 1024 x 1024 matrix has 1M entries: too many for an SVG)' },
    title: { type: 'string', default: '', doc: 'figure title' },
    legend_title: { type: 'string', default: 'block mean', doc: 'title of the colour legend' },
  },
  inputs: { data: { doc: 'the node holding the matrix' } },
  async run({ params: p, inputs }) {
    const node = single(inputs.data, 'data');
    const a = node.array(p.array);
    const b = p.minus ? node.array(p.minus) : undefined;
    const [n, m] = a.shape;
    if (n !== m) throw new Error(`${p.array} has shape [${a.shape}], expected a square matrix`);
    const cells = Math.min(p.cells, n);
    const values: { i: number; j: number; v: number }[] = [];
    for (let bi = 0; bi < cells; bi++) {
      const i0 = Math.floor((bi * n) / cells);
      const i1 = Math.floor(((bi + 1) * n) / cells);
      for (let bj = 0; bj < cells; bj++) {
        const j0 = Math.floor((bj * n) / cells);
        const j1 = Math.floor(((bj + 1) * n) / cells);
        let s = 0;
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) s += a.data[i * n + j] - (b ? b.data[i * n + j] : 0);
        values.push({ i: bi, j: bj, v: s / ((i1 - i0) * (j1 - j0)) });
      }
    }
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: p.title,
      width: 300,
      height: 300,
      data: { values },
      mark: 'rect',
      encoding: {
        x: { field: 'j', type: 'ordinal', title: 'column block', axis: { labels: false, ticks: false, domain: false } },
        y: { field: 'i', type: 'ordinal', title: 'row block', axis: { labels: false, ticks: false, domain: false } },
        color: { field: 'v', type: 'quantitative', title: p.legend_title, legend: { titleLimit: 0, labelLimit: 0 }, scale: b ? { scheme: 'redblue', domainMid: 0 } : { scheme: 'viridis' } },
      },
      config: { font: 'sans-serif', view: { stroke: null } },
    };
    return { 'figure.svg': await renderSvg(spec) };
  },
});
