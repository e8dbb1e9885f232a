/**
 * The neural-collapse metrics of Papyan, Han & Donoho (PNAS 2020) for a classifier's penultimate
 * features H (N x d, rows in class-block order) and last layer W (C x d), b (C). Float64, two
 * passes over H (class means, then residuals), as their published notebook defines them:
 *
 * - NC1: Tr(Σ_W Σ_B⁺)/C (featureNC1, through C x C matrices only);
 * - NC2 equinorm: std/mean of ‖μ_c − μ_G‖ and of ‖w_c‖ (sample std, n − 1, as torch.std);
 * - NC2 equiangularity: std over pairs c < c' of the cosines between centred means (and between
 *   classifier rows);
 * - NC2 max-angle: mean over c ≠ c' of |cos + 1/(C−1)| (their `coherence`);
 * - NC3 self-duality: ‖Wᵀ/‖W‖_F − M̃/‖M̃‖_F‖²_F, M̃ the d x C centred means;
 * - NC4: the fraction of samples whose argmax(W h + b) differs from the nearest class mean.
 */
import type { Matrix } from './matrix.ts';
import { classMeans, featureNC1 } from './nc1.ts';

export interface PapyanMetrics {
  nc1: number;
  /** Tr Σ_W / Tr Σ_B, the Kothapalli–Tirer feature NC1, for comparison. */
  nc1_trace_ratio: number;
  equinorm_means: number;
  equinorm_classifier: number;
  equiangular_means: number;
  equiangular_classifier: number;
  max_angle_means: number;
  max_angle_classifier: number;
  self_duality: number;
  ncc_mismatch: number;
}

function rowNorms(rows: Float64Array, C: number, d: number): Float64Array {
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += rows[c * d + t] ** 2;
    out[c] = Math.sqrt(s);
  }
  return out;
}

function sampleStd(xs: ArrayLike<number>): { mean: number; std: number } {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

/** Cosines of the C(C−1)/2 pairs c < c' of rows. */
function pairCosines(rows: Float64Array, norms: Float64Array, C: number, d: number): number[] {
  const out: number[] = [];
  for (let a = 0; a < C; a++) {
    for (let b = a + 1; b < C; b++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += rows[a * d + t] * rows[b * d + t];
      out.push(s / (norms[a] * norms[b]));
    }
  }
  return out;
}

/** NC2 for one set of C vectors: equinorm, equiangularity, max-angle. */
function simplexMetrics(rows: Float64Array, C: number, d: number): { equinorm: number; equiangular: number; maxAngle: number } {
  const norms = rowNorms(rows, C, d);
  const n = sampleStd(norms);
  const cos = pairCosines(rows, norms, C, d);
  const maxAngle = cos.reduce((s, v) => s + Math.abs(v + 1 / (C - 1)), 0) / cos.length;
  return { equinorm: n.std / n.mean, equiangular: sampleStd(cos).std, maxAngle };
}

function frobenius(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

export function papyanMetrics(H: Matrix, classSizes: readonly number[], W: Matrix, b: Float64Array): PapyanMetrics {
  const { rows: n, cols: d, data: h } = H;
  const C = classSizes.length;
  if (C < 3) throw new RangeError(`NC2 needs at least 3 classes (a simplex), got ${C}`);
  if (W.rows !== C || W.cols !== d) throw new RangeError(`classifier is ${W.rows}x${W.cols}, expected ${C}x${d}`);
  if (b.length !== C) throw new RangeError(`classifier bias has ${b.length} entries, expected ${C}`);
  const first = classMeans(H, classSizes);
  const { means, M } = first;
  const nc1 = featureNC1(H, classSizes, first);
  const m = simplexMetrics(M, C, d);
  const w = simplexMetrics(W.data, C, d);
  // W's rows and M's rows (= M̃'s columns) side by side, each scaled to unit Frobenius norm.
  const fw = frobenius(W.data);
  const fm = frobenius(M);
  let selfDuality = 0;
  for (let i = 0; i < C * d; i++) selfDuality += (W.data[i] / fw - M[i] / fm) ** 2;
  // NC4: the classifier's decision against the nearest class mean (first index wins ties).
  let mismatch = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let net = 0;
    let nearest = Infinity;
    let ncc = 0;
    for (let c = 0; c < C; c++) {
      let score = b[c];
      let dist = 0;
      for (let t = 0; t < d; t++) {
        const x = h[i * d + t];
        score += W.data[c * d + t] * x;
        dist += (x - means[c * d + t]) ** 2;
      }
      if (score > best) [best, net] = [score, c];
      if (dist < nearest) [nearest, ncc] = [dist, c];
    }
    if (net !== ncc) mismatch++;
  }
  return {
    nc1: nc1.papyan_nc1,
    nc1_trace_ratio: nc1.trace_S_W_div_S_B,
    equinorm_means: m.equinorm,
    equinorm_classifier: w.equinorm,
    equiangular_means: m.equiangular,
    equiangular_classifier: w.equiangular,
    max_angle_means: m.maxAngle,
    max_angle_classifier: w.maxAngle,
    self_duality: selfDuality,
    ncc_mismatch: mismatch / n,
  };
}
