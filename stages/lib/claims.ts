/**
 * The abstract's claims, checked cell by cell on figures' aggregated results (the `rows` of a
 * report's results.json: mean log10 NC1 per model, activation, N, d0 and class sizes). Pure
 * functions of those rows, so the `claims` stage and its unit test share them. A cell "supports"
 * a claim when its inequality holds for the means; a cell where a side failed (no finite mean)
 * is counted apart, never as support.
 */
import type { SummaryRow } from '../aggregate.ts';

/** One figure's results as its report publishes them. */
export interface FigureResults {
  target: string;
  profile: string;
  rows: SummaryRow[];
}

export interface ClaimCell {
  /** Where: e.g. { N: 128, d0: 8 } or { model: 'ntk', N: 128, d0: 8 }. */
  cell: Record<string, string | number>;
  /** The two log10 NC1 means compared (or the two trend signs), as said in `detail`. */
  detail: string;
}

export interface ClaimCheck {
  /** A short name: "a: NTK (corrected) vs NNGP". */
  name: string;
  /** The inequality checked, in words. */
  test: string;
  target: string;
  profile: string;
  supports: ClaimCell[];
  against: ClaimCell[];
  /** Cells where a side has no finite mean (failed runs) or is missing. */
  undecided: ClaimCell[];
}

// Four decimals: the adaptive kernel and the NNGP differ in the fourth digit at d0 = 1.
const fmt = (v: number) => (v >= 0 ? '+' : '') + v.toFixed(4);
const dex = (v: number) => v.toFixed(4);
const mean = (r: SummaryRow | undefined) => (r && r.log10_nc1_mean !== null && Number.isFinite(r.log10_nc1_mean) ? (r.log10_nc1_mean as number) : undefined);
const sizes = (r: SummaryRow) => r.class_sizes.join('/');

/** The coordinates a row is matched on besides the one being compared. */
function where(r: SummaryRow, drop: 'model' | 'activation', balanced: boolean, activations: boolean): Record<string, string | number> {
  const c: Record<string, string | number> = {};
  if (drop !== 'model') c.model = r.model;
  if (drop !== 'activation' && activations && r.activation !== undefined && r.activation !== null) c.activation = r.activation;
  c.N = r.N;
  c.d0 = r.d0;
  if (!balanced) c.class_sizes = sizes(r);
  return c;
}

const keyOf = (c: Record<string, string | number>) => JSON.stringify(c);

/**
 * Cell by cell, `a` against `b` along one coordinate (model or activation): supports when
 * `holds(mean a, mean b)`. `filter` picks the rows taking part (e.g. one model).
 */
export function compareCells(
  fig: FigureResults,
  along: 'model' | 'activation',
  a: string,
  b: string,
  holds: (ma: number, mb: number) => boolean,
  meta: { name: string; test: string },
  filter: (r: SummaryRow) => boolean = () => true,
): ClaimCheck {
  const rows = fig.rows.filter(filter);
  const balanced = rows.every((r) => new Set(r.class_sizes).size <= 1);
  // The activation names a cell only where the figure has several (fig4).
  const activations = new Set(rows.map((r) => r.activation)).size > 1;
  const side = (v: string) => new Map(rows.filter((r) => String(r[along]) === v).map((r) => [keyOf(where(r, along, balanced, activations)), r]));
  const A = side(a);
  const B = side(b);
  const out: ClaimCheck = { ...meta, target: fig.target, profile: fig.profile, supports: [], against: [], undecided: [] };
  for (const k of [...new Set([...A.keys(), ...B.keys()])]) {
    const ra = A.get(k);
    const rb = B.get(k);
    const cell = JSON.parse(k) as Record<string, string | number>;
    const ma = mean(ra);
    const mb = mean(rb);
    if (ma === undefined || mb === undefined) {
      out.undecided.push({ cell, detail: `${a} ${ma === undefined ? (ra ? 'failed' : 'missing') : dex(ma)}, ${b} ${mb === undefined ? (rb ? 'failed' : 'missing') : dex(mb)}` });
      continue;
    }
    const c = { cell, detail: `${a} ${dex(ma)}, ${b} ${dex(mb)} (Δ ${fmt(ma - mb)})` };
    (holds(ma, mb) ? out.supports : out.against).push(c);
  }
  return out;
}

/** The sign of a change of mean log10 NC1: 0 when its size is at most `tol` dex. */
export const trendSign = (delta: number, tol: number): -1 | 0 | 1 => (Math.abs(delta) <= tol ? 0 : delta > 0 ? 1 : -1);
const word = (s: -1 | 0 | 1) => (s > 0 ? 'up' : s < 0 ? 'down' : 'flat');

/**
 * Claim (c): the adaptive kernel may not follow the trends of the trained net. For every N (and
 * class sizes) and every pair of consecutive d0 values, the trend of a model is the sign of the
 * change of its mean log10 NC1 from the smaller d0 to the larger (flat within `tol` dex). A pair
 * where `a`'s trend differs from `b`'s supports the claim; a pair where they agree does not.
 */
export function compareTrends(fig: FigureResults, a: string, b: string, tol: number, meta: { name: string; test: string }): ClaimCheck {
  const out: ClaimCheck = { ...meta, target: fig.target, profile: fig.profile, supports: [], against: [], undecided: [] };
  const line = (model: string, N: number, cs: string) =>
    new Map(fig.rows.filter((r) => r.model === model && r.N === N && sizes(r) === cs).map((r) => [r.d0, r]));
  const groups = [...new Map(fig.rows.filter((r) => r.model === a || r.model === b).map((r) => [`${r.N}|${sizes(r)}`, { N: r.N, cs: sizes(r) }])).values()];
  const balanced = fig.rows.every((r) => new Set(r.class_sizes).size <= 1);
  for (const { N, cs } of groups.sort((x, y) => x.N - y.N || x.cs.localeCompare(y.cs))) {
    const la = line(a, N, cs);
    const lb = line(b, N, cs);
    const d0s = [...new Set([...la.keys(), ...lb.keys()])].sort((x, y) => x - y);
    for (let i = 0; i + 1 < d0s.length; i++) {
      const [d, e] = [d0s[i], d0s[i + 1]];
      const cell: Record<string, string | number> = { N, d0: `${d}→${e}` };
      if (!balanced) cell.class_sizes = cs;
      const [a1, a2, b1, b2] = [mean(la.get(d)), mean(la.get(e)), mean(lb.get(d)), mean(lb.get(e))];
      if (a1 === undefined || a2 === undefined || b1 === undefined || b2 === undefined) {
        out.undecided.push({ cell, detail: 'a mean is missing or failed' });
        continue;
      }
      const sa = trendSign(a2 - a1, tol);
      const sb = trendSign(b2 - b1, tol);
      const c = { cell, detail: `${a} ${word(sa)} (${fmt(a2 - a1)}), ${b} ${word(sb)} (${fmt(b2 - b1)})` };
      (sa !== sb ? out.supports : out.against).push(c);
    }
  }
  return out;
}

/** The models a figure's rows hold. */
export const modelsOf = (fig: FigureResults) => [...new Set(fig.rows.map((r) => r.model))];

export interface ClaimInputs {
  /** fig3: nngp, ntk (corrected) and ntk_compat (the original code's NTK). */
  ntk: FigureResults;
  /** fig4: models with activation erf and relu. */
  activation: FigureResults;
  /** fig5: nngp, fcn, adaptive (and adaptive_compat). */
  adaptive: FigureResults;
  /** fig6 (optional): the same on imbalanced classes. */
  imbalanced?: FigureResults;
  /** Trends within this many dex are flat (claim c). */
  trendTol: number;
}

export interface Claim {
  id: 'a' | 'b' | 'c' | 'd';
  statement: string;
  checks: ClaimCheck[];
}

/** Every claim of the abstract, each as one or more cell-by-cell checks. */
export function checkClaims(inp: ClaimInputs): Claim[] {
  const geq = (x: number, y: number) => x >= y;
  const lt = (x: number, y: number) => x < y;
  const a: ClaimCheck[] = [];
  for (const [model, label] of [
    ['ntk', 'NTK as its equations define it (corrected)'],
    ['ntk_compat', "NTK as the original code computes it"],
  ] as const) {
    if (!modelsOf(inp.ntk).includes(model)) continue;
    a.push(compareCells(inp.ntk, 'model', model, 'nngp', geq, { name: label, test: `log10 NC1 of ${model} ≥ that of nngp` }));
  }
  const b: ClaimCheck[] = [];
  for (const fig of [inp.adaptive, ...(inp.imbalanced ? [inp.imbalanced] : [])]) {
    for (const [model, label] of [
      ['adaptive', 'adaptive kernel (EoS as its equations define it)'],
      ['adaptive_compat', "adaptive kernel as the original code computes it"],
    ] as const) {
      if (!modelsOf(fig).includes(model)) continue;
      b.push(compareCells(fig, 'model', model, 'nngp', lt, { name: `${fig.target}: ${label}`, test: `log10 NC1 of ${model} < that of nngp` }));
    }
  }
  const c: ClaimCheck[] = [];
  for (const fig of [inp.adaptive, ...(inp.imbalanced ? [inp.imbalanced] : [])]) {
    if (!modelsOf(fig).includes('adaptive') || !modelsOf(fig).includes('fcn')) continue;
    c.push(
      compareTrends(fig, 'adaptive', 'fcn', inp.trendTol, {
        name: `${fig.target}: adaptive kernel vs trained net`,
        test: `the trend over consecutive d0 (sign of the change of mean log10 NC1, flat within ${inp.trendTol} dex) of adaptive differs from that of fcn`,
      }),
    );
  }
  const d: ClaimCheck[] = modelsOf(inp.activation).map((model) =>
    compareCells(inp.activation, 'activation', 'erf', 'relu', lt, { name: `${model}`, test: `log10 NC1 with erf < with relu (model ${model})` }, (r) => r.model === model),
  );
  return [
    { id: 'a', statement: 'The NTK is not more collapsed than the NNGP for Gaussian data of any dimension (NTK NC1 ≥ NNGP NC1).', checks: a },
    { id: 'b', statement: 'The adaptive kernel (EoS) yields lower NC1 than the NNGP.', checks: b },
    { id: 'c', statement: 'The adaptive kernel may not follow the trends of the trained network.', checks: c },
    { id: 'd', statement: 'ERF yields lower NC1 than ReLU.', checks: d },
  ];
}
