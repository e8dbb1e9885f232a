import { defineStage, gathered, type InputHandle, type StageParams } from '../engine/stage-api.ts';
import { pick } from './lib/json.ts';

/** The params as run receives them, typed from the spec below. */
type Params = StageParams<typeof import('./aggregate.ts').default>;

export interface SummaryRow {
  model: string;
  activation?: string;
  N: number;
  d0: number;
  class_sizes: number[];
  repeats: number;
  failed: number;
  log10_nc1_mean: number | null;
  log10_nc1_std: number | null;
  rel_log10_nc1_mean: number | null;
  rel_log10_nc1_std: number | null;
  [extra: string]: unknown;
}

export interface Summary {
  metric: string;
  reference_metric: string;
  rows: SummaryRow[];
}

const finitePositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

function runRow(h: InputHandle, p: Params): Record<string, unknown> {
  const doc = h.json<Record<string, unknown>>(p.source);
  const value = pick(doc, p.metric);
  const sizes = (doc.class_sizes ?? h.coords.class_sizes) as number[] | undefined;
  return {
    ...h.coords,
    model: h.stage,
    activation: doc.activation ?? h.coords.activation ?? null,
    N: doc.N ?? h.coords.N,
    d0: doc.d0 ?? h.coords.d0,
    class_sizes: sizes ? sizes.join(':') : null,
    value: typeof value === 'number' ? value : null,
    note: doc.converged === false ? 'not converged' : null,
  };
}

export default defineStage({
  description: 'Groups runs by sweep cell and reduces log10 NC1 (and log10 of NC1 relative to the data) to mean and std',
  light: true,
  params: {
    source: { type: 'string', default: 'stats.json', doc: 'output file of each run node holding the metric' },
    metric: { type: 'string', default: 'nc1', doc: 'dotted path of the metric in that file' },
    reference_source: { type: 'string', default: 'nc1.json', doc: 'output file of each reference (data) node' },
    reference_metric: { type: 'string', default: 'feature.trace_S_W_div_S_B', doc: 'NC1(X) in that file' },
    group_by: { type: 'string[]', default: ['model', 'activation', 'N', 'd0', 'class_sizes'], doc: 'columns that define one cell' },
  },
  inputs: {
    runs: { doc: 'the nodes to summarise (kernels, trained nets, EoS solves)', gather: true },
    reference: { doc: 'data NC1 nodes, matched to runs by their shared sweep coordinates', gather: true, optional: true },
  },
  async run({ params: p, inputs }) {
    // Imported here: the scheduler loads every stage module to read its params, and arquero costs ~0.1 s.
    const aq = await import('arquero');
    const runs = gathered(inputs.runs);
    if (runs.length === 0) throw new Error('no runs to aggregate');
    const refs = gathered(inputs.reference);
    // Runs meet their reference on the reference's sweep coordinates, compared as canonical JSON
    // (a coordinate may be a list, such as class_sizes).
    const refAxes = refs.length ? Object.keys(refs[0].coords) : [];
    const refKey = (coords: Record<string, unknown>) => JSON.stringify(refAxes.map((k) => coords[k] ?? null));
    let table = aq.from(runs.map((h) => ({ ...runRow(h, p), _ref: refKey(h.coords) })));
    if (refs.length) {
      const refTable = aq.from(refs.map((h) => ({ _ref: refKey(h.coords), ref: pick(h.json(p.reference_source), p.reference_metric) ?? null })));
      table = table.join_left(refTable, ['_ref', '_ref']).select(aq.not('_ref'));
    } else {
      table = table.derive({ ref: () => null });
    }
    // A non-finite or non-positive NC1 has no logarithm: it counts as failed, never silently dropped.
    const rows = (table.objects() as Record<string, unknown>[]).map((r): Record<string, unknown> => {
      const ok = finitePositive(r.value);
      const log = ok ? Math.log10(r.value as number) : null;
      const ref = r.ref as number | null;
      const rel = ok && typeof ref === 'number' && Number.isFinite(ref) ? Math.log10((r.value as number) / (ref + 1e-8)) : null;
      return { ...r, failed: ok ? 0 : 1, log10: log, rel };
    });
    const groups = p.group_by.filter((g) => rows.some((r) => r[g] !== undefined && r[g] !== null));
    const summary = aq
      .from(rows)
      .groupby(groups)
      .rollup({
        repeats: aq.op.count(),
        failed: aq.op.sum('failed'),
        log10_nc1_mean: aq.op.mean('log10'),
        log10_nc1_std: aq.op.stdevp('log10'),
        rel_log10_nc1_mean: aq.op.mean('rel'),
        rel_log10_nc1_std: aq.op.stdevp('rel'),
        not_converged: aq.op.valid('note'),
        valid: aq.op.valid('log10'),
        valid_rel: aq.op.valid('rel'),
      })
      .orderby(...groups);
    const out: SummaryRow[] = (summary.objects() as Record<string, unknown>[]).map(({ valid, valid_rel, ...r }) => {
      // arquero gives undefined (no valid value) or NaN; JSON wants null. One value has std 0.
      const clean = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? null : v]));
      if (valid === 1) clean.log10_nc1_std = 0;
      if (valid_rel === 1) clean.rel_log10_nc1_std = 0;
      return { ...clean, class_sizes: typeof r.class_sizes === 'string' ? r.class_sizes.split(':').map(Number) : [] } as SummaryRow;
    });
    const csv = aq.from(rows).select(aq.not('note')).toCSV();
    return { 'summary.json': { metric: p.metric, reference_metric: p.reference_metric, rows: out } satisfies Summary, 'runs.csv': csv };
  },
});
