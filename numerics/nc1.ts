/**
 * NC1: within-class variability relative to between-class variability, two ways.
 *
 * Kernel NC1 (Kothapalli & Tirer): from a Gram matrix alone, exact for balanced classes.
 * Feature NC1: from explicit features, as Tr S_W / Tr S_B (the paper's plots) and as
 * Tr(S_W S_B⁺)/C (Papyan, Han & Donoho). Rows are in class-block order throughout.
 */
import type { Matrix } from './matrix.ts';
import { pinvSymmetric } from './jacobi.ts';
import { CompensatedSum } from './sum.ts';

export interface KernelNC1 {
  Tr_Sigma_W: number;
  Tr_Sigma_B: number;
  nc1: number;
  trace: number;
  sum: number;
  class_block_sums: number[];
}

export function classOffsets(classSizes: readonly number[]): number[] {
  const offsets = [0];
  for (const n of classSizes) offsets.push(offsets[offsets.length - 1] + n);
  return offsets;
}

/**
 * T = tr K / N, B̃ = (1/C) Σ_c 1ᵀK_cc1 / n_c², G = 1ᵀK1 / N²; Tr Σ_W = T − B̃, Tr Σ_B = B̃ − G.
 * Reads only the lower triangle (j <= i) of the symmetric K.
 */
export function kernelNC1(K: Matrix, classSizes: readonly number[]): KernelNC1 {
  const n = K.rows;
  const offsets = classOffsets(classSizes);
  if (offsets[offsets.length - 1] !== n) {
    throw new RangeError(`class sizes sum to ${offsets[offsets.length - 1]}, kernel is ${n}x${n}`);
  }
  const k = K.data;
  const C = classSizes.length;
  const trace = new CompensatedSum();
  const total = new CompensatedSum();
  const blocks = Array.from({ length: C }, () => new CompensatedSum());
  for (let c = 0; c < C; c++) {
    for (let i = offsets[c]; i < offsets[c + 1]; i++) {
      const row = i * n;
      let other = 0;
      for (let j = 0; j < offsets[c]; j++) other += k[row + j];
      let same = 0;
      for (let j = offsets[c]; j < i; j++) same += k[row + j];
      const kii = k[row + i];
      trace.add(kii);
      total.add(2 * other);
      total.add(2 * same);
      total.add(kii);
      blocks[c].add(2 * same);
      blocks[c].add(kii);
    }
  }
  const blockSums = blocks.map((b) => b.value());
  const T = trace.value() / n;
  let Bt = 0;
  for (let c = 0; c < C; c++) Bt += blockSums[c] / (classSizes[c] * classSizes[c]);
  Bt /= C;
  const G = total.value() / (n * n);
  const trW = T - Bt;
  const trB = Bt - G;
  return { Tr_Sigma_W: trW, Tr_Sigma_B: trB, nc1: trW / trB, trace: trace.value(), sum: total.value(), class_block_sums: blockSums };
}

export interface FeatureNC1 {
  trace_S_W: number;
  trace_S_B: number;
  /** Tr S_W / Tr S_B: what the paper plots. */
  trace_S_W_div_S_B: number;
  /** Tr(S_W S_B⁺) / C: Papyan et al.'s NC1. */
  papyan_nc1: number;
}

export interface ClassMeans {
  /** μ_c, C rows of length d. */
  means: Float64Array;
  /** μ_G, the sample mean. */
  global: Float64Array;
  /** μ_c − μ_G, C rows of length d. */
  M: Float64Array;
}

/** Class means of features in class-block order (the first of the two passes of every NC metric). */
export function classMeans(H: Matrix, classSizes: readonly number[]): ClassMeans {
  const { rows: n, cols: d, data: h } = H;
  const offsets = classOffsets(classSizes);
  if (offsets[offsets.length - 1] !== n) {
    throw new RangeError(`class sizes sum to ${offsets[offsets.length - 1]}, features have ${n} rows`);
  }
  const C = classSizes.length;
  const means = new Float64Array(C * d);
  const global = new Float64Array(d);
  for (let c = 0; c < C; c++) {
    for (let i = offsets[c]; i < offsets[c + 1]; i++) {
      for (let t = 0; t < d; t++) means[c * d + t] += h[i * d + t];
    }
    for (let t = 0; t < d; t++) {
      global[t] += means[c * d + t];
      means[c * d + t] /= classSizes[c];
    }
  }
  for (let t = 0; t < d; t++) global[t] /= n;
  const M = new Float64Array(C * d);
  for (let c = 0; c < C; c++) for (let t = 0; t < d; t++) M[c * d + t] = means[c * d + t] - global[t];
  return { means, global, M };
}

/**
 * S_W = (1/N) Σ_i (h_i − μ_c(i))(h_i − μ_c(i))ᵀ, S_B = (1/C) Σ_c (μ_c − μ_G)(μ_c − μ_G)ᵀ.
 *
 * S_B = (1/C) M Mᵀ with M the d x C centred means, so Tr(S_W S_B⁺) = C tr(Mᵀ S_W M (MᵀM)⁺²):
 * only C x C matrices are formed, whatever the feature width d. `first`: the class means, when
 * the caller has them already (papyanMetrics).
 */
export function featureNC1(H: Matrix, classSizes: readonly number[], first: ClassMeans = classMeans(H, classSizes)): FeatureNC1 {
  const { rows: n, cols: d, data: h } = H;
  const offsets = classOffsets(classSizes);
  const C = classSizes.length;
  const { means, M } = first;
  let trB = 0;
  for (let i = 0; i < C * d; i++) trB += M[i] * M[i];
  trB /= C;
  // Second pass: within-class residuals, their squared norm and their projections onto M.
  let trW = 0;
  const P = new Float64Array(C * C); // Mᵀ S_W M · N
  const proj = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    for (let i = offsets[c]; i < offsets[c + 1]; i++) {
      proj.fill(0);
      for (let t = 0; t < d; t++) {
        const r = h[i * d + t] - means[c * d + t];
        trW += r * r;
        for (let a = 0; a < C; a++) proj[a] += M[a * d + t] * r;
      }
      for (let a = 0; a < C; a++) for (let b = 0; b < C; b++) P[a * C + b] += proj[a] * proj[b];
    }
  }
  trW /= n;
  for (let i = 0; i < C * C; i++) P[i] /= n;
  const gram = new Float64Array(C * C);
  for (let a = 0; a < C; a++) {
    for (let b = 0; b < C; b++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += M[a * d + t] * M[b * d + t];
      gram[a * C + b] = s;
    }
  }
  const gp = pinvSymmetric(gram, C);
  const gp2 = new Float64Array(C * C);
  for (let a = 0; a < C; a++) {
    for (let b = 0; b < C; b++) {
      let s = 0;
      for (let e = 0; e < C; e++) s += gp[a * C + e] * gp[e * C + b];
      gp2[a * C + b] = s;
    }
  }
  let tr = 0;
  for (let a = 0; a < C; a++) for (let b = 0; b < C; b++) tr += P[a * C + b] * gp2[b * C + a];
  const trWpinvB = C * tr;
  return {
    trace_S_W: trW,
    trace_S_B: trB,
    trace_S_W_div_S_B: trW / trB,
    papyan_nc1: trWpinvB / C,
  };
}
