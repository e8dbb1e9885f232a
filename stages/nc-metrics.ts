import { defineStage, single } from '../engine/stage-api.ts';
import { matrix } from '../numerics/matrix.ts';
import { papyanMetrics, type PapyanMetrics } from '../numerics/nc-metrics.ts';
import type { EpochRecord } from './lib/classifier-train.ts';

export type MetricsRow = EpochRecord & PapyanMetrics;

/** The metrics that trend to 0 under collapse, with their names in reports; NC1 first. */
export const COLLAPSE_METRICS: [keyof PapyanMetrics, string][] = [
  ['nc1', 'NC1 Tr(Σ_W Σ_B⁺)/C'],
  ['equinorm_means', 'NC2 equinorm, class means'],
  ['equinorm_classifier', 'NC2 equinorm, classifier'],
  ['equiangular_means', 'NC2 equiangularity, class means'],
  ['equiangular_classifier', 'NC2 equiangularity, classifier'],
  ['max_angle_means', 'NC2 max-angle, class means'],
  ['max_angle_classifier', 'NC2 max-angle, classifier'],
  ['self_duality', 'NC3 self-duality'],
  ['ncc_mismatch', 'NC4 NCC mismatch'],
];

/** summary.json: the run's metrics at zero training error (a checkpoint is taken there) and at the end. */
export interface NcSummary {
  label: string;
  zero_error_epoch: number | null;
  end_epoch: number;
  at_zero_error: Record<string, number> | null;
  at_end: Record<string, number>;
  nc1_fall: number | null;
  final_train_error: number;
  final_test_error: number | null;
}

export default defineStage({
  description: 'Papyan, Han & Donoho NC1–NC4 (float64) of a classifier at each of its checkpoints',
  params: {
    label: { type: 'string', default: '', doc: 'name of this run in plots and tables (e.g. the dataset)' },
  },
  inputs: { run: { doc: 'a classifier node (features.f64, classifier.f64, checkpoints.json)' } },
  run({ params: p, inputs, progress }) {
    const run = single(inputs.run, 'run');
    const stats = run.json<{ class_sizes: number[]; zero_error_epoch: number | null; N: number }>('stats.json');
    const checkpoints = run.json<EpochRecord[]>('checkpoints.json');
    const F = run.array('features.f64');
    const Wb = run.array('classifier.f64');
    const [K, N, d] = F.shape;
    const C = Wb.shape[1];
    const rows: MetricsRow[] = checkpoints.map((cp, k) => {
      progress(k / K, `checkpoint ${k + 1}/${K}`);
      const H = matrix(N, d, F.data.subarray(k * N * d, (k + 1) * N * d));
      const W = matrix(C, d);
      const b = new Float64Array(C);
      for (let a = 0; a < C; a++) {
        const o = (k * C + a) * (d + 1);
        W.data.set(Wb.data.subarray(o, o + d), a * d);
        b[a] = Wb.data[o + d];
      }
      return { ...cp, ...papyanMetrics(H, stats.class_sizes, W, b) };
    });
    // The classifier takes a checkpoint at the first epoch of zero training error.
    const zero = rows.find((r) => r.epoch === stats.zero_error_epoch);
    const end = rows[rows.length - 1];
    const at = (r: MetricsRow) => Object.fromEntries(COLLAPSE_METRICS.map(([k]) => [k, r[k]]));
    const summary: NcSummary = {
      label: p.label || run.stage,
      zero_error_epoch: stats.zero_error_epoch,
      end_epoch: end.epoch,
      at_zero_error: zero ? at(zero) : null,
      at_end: at(end),
      nc1_fall: zero ? zero.nc1 / end.nc1 : null,
      final_train_error: end.train_error,
      final_test_error: end.test_error,
    };
    return { 'metrics.json': rows, 'summary.json': summary };
  },
});
