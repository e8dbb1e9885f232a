import { readFileSync } from 'node:fs';
import { maxSquareSide, squareMatrixReason } from '../engine/memory.ts';
import { defineStage, type FileParam, type FileProblem, type StageParams } from '../engine/stage-api.ts';
import { matrix } from '../numerics/matrix.ts';
import { DataFileError, readDataFile, type LoadedData } from './lib/data-file.ts';
import { datasetOutputs, defaultTargets, labelsFromSizes, type Dataset } from './lib/dataset.ts';

/** The params as run receives them, typed from the spec below. */
type Params = StageParams<typeof import('./dataset-file.ts').default>;

function formatOf(p: Params): 'csv' | 'json' {
  return p.format === 'auto' ? (p.path.path.toLowerCase().endsWith('.csv') ? 'csv' : 'json') : p.format;
}

/**
 * The label convention. Classes are taken in order of first appearance (for class_sizes: class
 * 0, 1, ...) and rows are regrouped into class blocks (stable). The regression target of class c
 * is `targets[c]` when given; else numeric labels are used as they are (so {X, class_sizes}, and
 * a file labelled 0/1, give targets 0 and 1), and text labels get centred targets as `gaussian`
 * does (-1, 1 for two classes; -3, -1, 1, 3 for four). `targets: [-1, 1]` gives a two-class
 * file exactly what `gaussian` gives.
 */
function toDataset(loaded: LoadedData, p: Params): Dataset | FileProblem {
  const { rows, labels } = loaded;
  const d0 = rows[0].length;
  if (d0 === 0) return { message: 'rows have no features', line: 1 };
  const ragged = rows.findIndex((r) => r.length !== d0);
  if (ragged >= 0) return { message: `row ${ragged} has ${rows[ragged].length} features, row 0 has ${d0}` };
  if (rows.length > maxSquareSide()) return { message: `${rows.length} rows: ${squareMatrixReason('an N x N kernel matrix')}` };
  const classes = [...new Set(labels.map(String))];
  if (classes.length < 2) return { message: `needs at least 2 classes, found ${classes.length}` };
  if (p.targets && p.targets.length !== classes.length) {
    return { param: 'targets', message: `expected ${classes.length} values (one per class of the file, in order of first appearance), got ${p.targets.length}` };
  }
  const order = classes.flatMap((c) => labels.flatMap((l, i) => (String(l) === c ? [i] : [])));
  const X = matrix(rows.length, d0);
  order.forEach((src, dst) => X.data.set(rows[src], dst * d0));
  const sizes = classes.map((c) => labels.filter((l) => String(l) === c).length);
  const numeric = classes.every((c) => Number.isFinite(Number(c)));
  const targets = p.targets ?? (numeric ? classes.map(Number) : defaultTargets(classes.length));
  return { N: rows.length, d0, class_sizes: sizes, targets, X, y: labelsFromSizes(sizes, targets) };
}

function load(content: Uint8Array, p: Params): Dataset | FileProblem {
  try {
    return toDataset(readDataFile(content, formatOf(p)), p);
  } catch (e) {
    if (e instanceof DataFileError) return e.problem;
    throw e;
  }
}

const isProblem = (v: Dataset | FileProblem): v is FileProblem => typeof (v as FileProblem).message === 'string';

export default defineStage({
  description:
    "A user's dataset from a JSON ({X, y} or {X, class_sizes}) or CSV (features + a label column) file, read strictly; classes in order of first appearance; targets from the labels when numeric (0/1 stay 0/1), else centred (-1, 1), or as given by `targets`",
  light: true,
  params: {
    path: { type: 'file', doc: 'data file, relative to the project root (outside it only as an absolute path given with --set)' },
    format: { type: 'string', enum: ['auto', 'json', 'csv'], default: 'auto', doc: 'file format (auto: by extension)' },
    targets: {
      type: 'number[]',
      optional: true,
      doc: 'regression target per class, classes in order of first appearance (class_sizes: 0, 1, ...); default: numeric labels as they are, text labels centred; [-1, 1] matches gaussian',
    },
  },
  outputs: ['X.f64', 'y.f64', 'data.json'],
  // At plan time: bad data is an error with the file's line and column before anything runs.
  checkFile(_param, content, p) {
    const r = load(content, p);
    return isProblem(r) ? r : undefined;
  },
  run({ params: p, file }) {
    const r = load(readFileSync(file(p.path)), p);
    if (isProblem(r)) throw new Error(`${p.path.path}${r.line ? `:${r.line}${r.column ? `:${r.column}` : ''}` : ''}: ${r.message}`);
    return datasetOutputs(r);
  },
});
