/**
 * Strict readers of users' data files (CSV with a label column; JSON {X, y} or {X, class_sizes}).
 * Every feature must be a decimal number: an empty cell, hex (0x10), NaN, Infinity, JSON null or
 * text is an error with the line and column, never a silent 0 or NaN. Messages never quote the
 * file (it may be anything a user pointed at), only say where and what was expected.
 */
import type { FileProblem } from '../../engine/stage-api.ts';
import { lineColumn, scanJson, type JsonPath } from './json-scan.ts';

export interface LoadedData {
  /** One feature row per sample, in file order. */
  rows: number[][];
  /** One label per row: the class it belongs to. */
  labels: (string | number)[];
  /** True when labels are class indices made from class_sizes (not the file's own labels). */
  fromSizes: boolean;
}

/** A problem in the file, with its place; thrown by the readers, returned by checkFile. */
export class DataFileError extends Error {
  constructor(readonly problem: FileProblem) {
    super(problem.message);
  }
}

const fail = (message: string, line?: number, column?: number): never => {
  throw new DataFileError({ message, line, column });
};

/** A decimal number as people write them: 12, -0.5, 1e-3, .5. No hex, no Infinity, no NaN. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function decode(content: Uint8Array): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(content);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** CSV with a header; the one column named label, y or class holds the class, the others are features. */
export function readCsv(content: Uint8Array): LoadedData {
  const lines = decode(content).split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0) fail('the file is empty: expected a header line, then one line per sample', 1);
  const cellsOf = (line: string) => {
    const cells: { text: string; column: number }[] = [];
    let start = 0;
    for (const raw of line.replace(/\r$/, '').split(',')) {
      const lead = raw.length - raw.trimStart().length;
      // R's write.csv quotes names and labels ("label", "a"); a quoted field holding a comma is not supported.
      const text = raw.trim();
      cells.push({ text: /^"[^"]*"$/.test(text) ? text.slice(1, -1).trim() : text, column: start + lead + 1 });
      start += raw.length + 1;
    }
    return cells;
  };
  const header = cellsOf(lines[first]);
  header.forEach((h, j) => {
    if (h.text === '') fail(`header field ${j + 1} is empty: every column needs a name`, first + 1, h.column);
  });
  const labelCols = header.flatMap((h, j) => (['label', 'y', 'class'].includes(h.text.toLowerCase()) ? [j] : []));
  if (labelCols.length !== 1) fail(`the header needs exactly one column named label, y or class (found ${labelCols.length})`, first + 1);
  const li = labelCols[0];
  if (header.length < 2) fail('the header names no feature column besides the label', first + 1);
  const rows: number[][] = [];
  const labels: string[] = [];
  for (let k = first + 1; k < lines.length; k++) {
    if (lines[k].trim() === '') continue;
    const line = k + 1;
    const cells = cellsOf(lines[k]);
    if (cells.length !== header.length) fail(`${cells.length} fields, the header has ${header.length}`, line);
    const row: number[] = [];
    cells.forEach((c, j) => {
      if (j === li) {
        if (c.text === '') fail(`field ${j + 1} (the label) is empty`, line, c.column);
        labels.push(c.text);
        return;
      }
      if (c.text === '') fail(`field ${j + 1} is empty: expected a decimal number`, line, c.column);
      if (!DECIMAL.test(c.text)) fail(`field ${j + 1} is not a decimal number (hex, NaN, Infinity and text are refused)`, line, c.column);
      const v = Number(c.text);
      if (!Number.isFinite(v)) fail(`field ${j + 1} is beyond the float64 range`, line, c.column);
      row.push(v);
    });
    rows.push(row);
  }
  if (rows.length === 0) fail('no data lines after the header', first + 1);
  return { rows, labels, fromSizes: false };
}

const JSON_KEYS = ['X', 'y', 'labels', 'class_sizes'];

/** JSON {X: [[...]], y: [...]} (or labels) or {X, class_sizes} (rows already in class-block order). */
export function readJson(content: Uint8Array): LoadedData {
  const text = decode(content);
  const at = (path: JsonPath): [number, number] => {
    const { found } = scanJson(text, path);
    const { line, column } = lineColumn(text, found ?? 0);
    return [line, column];
  };
  if (text.trim() === '') fail('the file is empty: expected {"X": [[...], ...], "y": [...]} or {"X", "class_sizes"}', 1);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // The engine's message would quote the text: say where instead.
    const { error } = scanJson(text);
    const { line, column } = lineColumn(text, error ?? 0);
    fail('not valid JSON here', line, column);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('expected a JSON object {"X": [[...], ...], "y": [...]} or {"X", "class_sizes"}', 1, 1);
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!JSON_KEYS.includes(k)) fail(`unknown key (expected ${JSON_KEYS.join(', ')})`, ...at([k]));
  const X = d.X;
  if (!Array.isArray(X)) fail('"X" must be a list of rows [[...], ...]', ...(Object.hasOwn(d, 'X') ? at(['X']) : [1, 1]));
  const rows = X as unknown[];
  if (rows.length === 0) fail('"X" has no rows', ...at(['X']));
  rows.forEach((r, i) => {
    if (!Array.isArray(r)) fail(`X[${i}] must be a list of numbers`, ...at(['X', i]));
    (r as unknown[]).forEach((v, j) => {
      if (typeof v !== 'number') fail(`X[${i}][${j}] must be a number, got ${v === null ? 'null' : typeof v === 'object' ? (Array.isArray(v) ? 'a list' : 'an object') : `a ${typeof v}`}`, ...at(['X', i, j]));
      if (!Number.isFinite(v)) fail(`X[${i}][${j}] is beyond the float64 range`, ...at(['X', i, j]));
    });
  });
  const d0 = (rows[0] as unknown[]).length;
  if (d0 === 0) fail('X[0] has no features', ...at(['X', 0]));
  rows.forEach((r, i) => {
    if ((r as unknown[]).length !== d0) fail(`X[${i}] has ${(r as unknown[]).length} features, X[0] has ${d0}`, ...at(['X', i]));
  });
  const given = ['y', 'labels', 'class_sizes'].filter((k) => Object.hasOwn(d, k));
  if (given.length !== 1) fail(`give exactly one of "y", "labels" or "class_sizes" (found ${given.length})`, 1, 1);
  if (given[0] === 'class_sizes') {
    const sizes = d.class_sizes;
    if (!Array.isArray(sizes)) fail('"class_sizes" must be a list of whole numbers', ...at(['class_sizes']));
    (sizes as unknown[]).forEach((n, c) => {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) fail(`class_sizes[${c}] must be a whole number >= 1`, ...at(['class_sizes', c]));
    });
    const total = (sizes as number[]).reduce((a, b) => a + b, 0);
    if (total !== rows.length) fail(`class_sizes sum to ${total}, but X has ${rows.length} rows`, ...at(['class_sizes']));
    const labels = (sizes as number[]).flatMap((n, c) => Array.from({ length: n }, () => c));
    return { rows: rows as number[][], labels, fromSizes: true };
  }
  const key = given[0];
  const labels = d[key];
  if (!Array.isArray(labels)) fail(`"${key}" must list one label per row of X`, ...at([key]));
  if ((labels as unknown[]).length !== rows.length) fail(`"${key}" has ${(labels as unknown[]).length} labels, X has ${rows.length} rows`, ...at([key]));
  (labels as unknown[]).forEach((l, i) => {
    const ok = (typeof l === 'number' && Number.isFinite(l)) || (typeof l === 'string' && l.trim() !== '');
    if (!ok) fail(`${key}[${i}] must be a number or a non-empty string, got ${l === null ? 'null' : typeof l === 'string' ? 'an empty string' : typeof l === 'object' ? 'a list or object' : String(typeof l)}`, ...at([key, i]));
  });
  return { rows: rows as number[][], labels: labels as (string | number)[], fromSizes: false };
}

/** Reads by format; errors are DataFileErrors with line and column. */
export function readDataFile(content: Uint8Array, format: 'csv' | 'json'): LoadedData {
  return format === 'csv' ? readCsv(content) : readJson(content);
}
