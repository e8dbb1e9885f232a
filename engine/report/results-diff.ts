/**
 * Two builds of a target side by side, from their reports' results.json: per cell (a row of the
 * plotted table: a sweep cell, an annealing step, a run) the change of each numeric result field.
 *
 * Cells are matched on their coordinates (text fields, lists, and the numeric sweep/step fields
 * named in COORDINATES). A coordinate that is constant within each build but differs between them
 * (activation "erf" everywhere in one, "relu" in the other) is what changed: it is reported once
 * and left out of the matching, so erf cells meet their relu counterparts.
 */

export type Cell = Record<string, unknown>;

const COORDINATES = new Set(['N', 'd0', 'step', 'epoch', 'index', 'repeat', 'h', 'annealing_factor']);

export interface FieldChange {
  a: number | null;
  b: number | null;
  /** b − a; null when either side is missing or not finite. */
  delta: number | null;
}

export interface CellDiff {
  /** The matching coordinates, e.g. {model: "ntk", N: 128, d0: 8, class_sizes: "(64, 64)"}. */
  coords: Record<string, string | number>;
  fields: Record<string, FieldChange>;
}

export interface ResultsDiff {
  /** Coordinates that differ as a whole between the builds: {activation: ["erf", "relu"]}. */
  changed: Record<string, [string, string]>;
  /** Coordinates with one value in every cell of both builds (shown once, not per row). */
  fixed: Record<string, string>;
  coordinates: string[];
  fields: string[];
  cells: CellDiff[];
  /** Cells only one build has. */
  onlyA: number;
  onlyB: number;
}

/** The cells of a results.json: its first non-empty list of objects, else its first object. */
export function cellsOf(results: Record<string, unknown>): Cell[] {
  for (const v of Object.values(results)) if (Array.isArray(v) && v.length && v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) return v as Cell[];
  for (const v of Object.values(results)) if (typeof v === 'object' && v !== null && !Array.isArray(v)) return [v as Cell];
  return [];
}

/** Nested objects become dotted keys; lists of scalars become "(a, b)" text. */
function flatten(cell: Cell, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(cell)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (Array.isArray(v)) {
      if (v.every((x) => typeof x !== 'object' || x === null)) out[key] = `(${v.join(', ')})`;
    } else if (typeof v === 'object' && v !== null) flatten(v as Cell, key, out);
    else out[key] = v;
  }
  return out;
}

const isCoordinate = (k: string, v: unknown) => typeof v === 'string' || COORDINATES.has(k);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function diffResults(a: Record<string, unknown>, b: Record<string, unknown>): ResultsDiff {
  const fa = cellsOf(a).map((c) => flatten(c));
  const fb = cellsOf(b).map((c) => flatten(c));
  const all = [...fa, ...fb];
  const coordinateKeys = [...new Set(all.flatMap((c) => Object.keys(c).filter((k) => isCoordinate(k, c[k]))))];
  const constant = (cells: Record<string, unknown>[], k: string) => {
    const values = new Set(cells.map((c) => JSON.stringify(c[k] ?? null)));
    return values.size === 1 ? cells[0]?.[k] : undefined;
  };
  const changed: Record<string, [string, string]> = {};
  const fixed: Record<string, string> = {};
  for (const k of coordinateKeys) {
    const ca = constant(fa, k);
    const cb = constant(fb, k);
    if (ca !== undefined && cb !== undefined) {
      if (ca !== cb) changed[k] = [String(ca), String(cb)];
      else fixed[k] = String(ca);
    }
  }
  const coordinates = coordinateKeys.filter((k) => !(k in changed) && !(k in fixed));
  const fields = [...new Set(all.flatMap((c) => Object.keys(c).filter((k) => !coordinateKeys.includes(k) && (typeof c[k] === 'number' || c[k] === null))))];
  const keyOf = (c: Record<string, unknown>) => JSON.stringify(coordinates.map((k) => c[k] ?? null));
  const byKeyB = new Map(fb.map((c) => [keyOf(c), c]));
  const cells: CellDiff[] = [];
  const matched = new Set<string>();
  for (const ca of fa) {
    const key = keyOf(ca);
    const cb = byKeyB.get(key);
    if (!cb) continue;
    matched.add(key);
    const coords = Object.fromEntries(coordinates.filter((k) => ca[k] !== undefined).map((k) => [k, ca[k] as string | number]));
    const changes = Object.fromEntries(
      fields.map((f) => {
        const x = num(ca[f]);
        const y = num(cb[f]);
        return [f, { a: x, b: y, delta: x !== null && y !== null ? y - x : null }];
      }),
    );
    cells.push({ coords, fields: changes });
  }
  return { changed, fixed, coordinates, fields, cells, onlyA: fa.length - cells.length, onlyB: fb.length - matched.size };
}

/** Fields shown by default: the means when there are any (log10_nc1_mean, ...), else the first few. */
export function defaultFields(d: ResultsDiff): string[] {
  const means = d.fields.filter((f) => f.endsWith('_mean'));
  return means.length ? means : d.fields.slice(0, 4);
}

const show = (v: number | null, digits = 4) => (v === null ? 'n/a' : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(digits));
const signed = (v: number | null) => (v === null ? 'n/a' : `${v >= 0 ? '+' : ''}${show(v)}`);

/** Rows of text cells: coordinates, then per field A, B, Δ. */
export function diffRows(d: ResultsDiff, fields: string[]): { header: string[]; rows: string[][] } {
  const header = [...d.coordinates, ...fields.flatMap((f) => [`${f} A`, `${f} B`, 'Δ'])];
  const rows = d.cells.map((c) => [...d.coordinates.map((k) => String(c.coords[k] ?? '')), ...fields.flatMap((f) => [show(c.fields[f]?.a ?? null), show(c.fields[f]?.b ?? null), signed(c.fields[f]?.delta ?? null)])]);
  return { header, rows };
}

/** A plain aligned table for the terminal. */
export function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** One line per changed field: how many cells moved, the mean and the largest change. */
export function fieldSummary(d: ResultsDiff, fields: string[]): string[] {
  return fields.map((f) => {
    const deltas = d.cells.map((c) => c.fields[f]?.delta).filter((x): x is number => x !== null && x !== undefined);
    if (!deltas.length) return `${f}: no cell has both values`;
    const moved = deltas.filter((x) => x !== 0).length;
    const mean = deltas.reduce((s, x) => s + x, 0) / deltas.length;
    const largest = deltas.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
    return `${f}: changed in ${moved} of ${deltas.length} cells; mean change ${signed(mean)}, largest ${signed(largest)}`;
  });
}
