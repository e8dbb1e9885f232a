/** dataset-file: strict reading (every bad cell located, nothing quoted) and the label convention. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { F64Array, FileProblem } from '../../engine/stage-api.ts';
import datasetFile from '../../stages/dataset-file.ts';
import gaussian from '../../stages/gaussian.ts';
import { runStage } from '../helpers/stage.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const check = (text: string, path = 'x.csv', extra: Record<string, unknown> = {}): FileProblem | undefined =>
  datasetFile.checkFile!('path', enc(text), { path: { path, sha256: '' }, format: 'auto', ...extra });

test('CSV: empty cells, hex, NaN, Infinity, text and 1e400 are errors at line and column', () => {
  assert.equal(check('a,b,label\n1,2,x\n3,,y\n'), { message: 'field 2 is empty: expected a decimal number', line: 3, column: 3 });
  for (const bad of ['0x10', 'NaN', 'Infinity', 'abc', '1,5'.slice(0, 1) + 'e', '--1']) {
    const p = check(`a,b,label\n1,${bad},x\n3,4,y\n`);
    assert.is(p?.line, 2, bad);
    assert.is(p?.column, 3, bad);
  }
  assert.match(check('a,b,label\n1,1e400,x\n3,4,y\n')!.message, /beyond the float64 range/);
  assert.equal(check('a,b,label\n1,2,x\n3,4,\n'), { message: 'field 3 (the label) is empty', line: 3, column: 5 });
});

test('CSV: quoted names, labels and numbers (as R writes them) are read; CRLF line ends too', () => {
  assert.is(check('"a","b","label"\r\n1,"2","x"\r\n3,4,"y"\r\n'), undefined);
  assert.equal(check('"a","label"\n"",x\n1,y\n'), { message: 'field 1 is empty: expected a decimal number', line: 2, column: 1 });
});

test('CSV: empty file, header only, no label column, ragged lines, one class', () => {
  assert.match(check('')!.message, /the file is empty/);
  assert.match(check('\n\n')!.message, /the file is empty/);
  assert.match(check('a,label\n')!.message, /no data lines/);
  assert.match(check('a,b\n1,2\n')!.message, /exactly one column named label, y or class \(found 0\)/);
  assert.match(check('a,y,label\n1,2,3\n')!.message, /found 2/);
  assert.equal(check('a,b,label\n1,2,x\n3,y\n'), { message: '2 fields, the header has 3', line: 3, column: undefined });
  assert.match(check('a,label\n1,x\n2,x\n')!.message, /at least 2 classes, found 1/);
});

test('JSON: null, strings, 1e400, syntax errors, ragged rows, unknown keys: located, never quoted', () => {
  const j = (text: string) => check(text, 'x.json');
  assert.equal(j('{"X": [[1, 2],\n [null, 3]], "y": [0, 1]}'), { message: 'X[1][0] must be a number, got null', line: 2, column: 3 });
  assert.equal(j('{"X": [[1, 2],\n [4, "abc"]], "y": [0, 1]}'), { message: 'X[1][1] must be a number, got a string', line: 2, column: 6 });
  assert.match(j('{"X": [[1, 2], [4, 1e400]], "y": [0, 1]}')!.message, /X\[1\]\[1\] is beyond the float64 range/);
  assert.equal(j('{"X": [[1, 2],\n [4, 5]] "y": [0, 1]}'), { message: 'not valid JSON here', line: 2, column: 10 });
  assert.match(j('')!.message, /the file is empty/);
  assert.match(j('{"X": [[1, 2], [4]], "y": [0, 1]}')!.message, /X\[1\] has 1 features, X\[0\] has 2/);
  assert.match(j('{"X": [[1, 2], [4, 5]], "y": [0, null]}')!.message, /y\[1\] must be a number or a non-empty string, got null/);
  assert.match(j('{"X": [[1, 2], [4, 5]], "y": [0, 1], "extra": 1}')!.message, /unknown key/);
  assert.match(j('{"X": [[1, 2], [4, 5]], "class_sizes": [1, 2]}')!.message, /class_sizes sum to 3, but X has 2 rows/);
  const secret = j('root:x:0:0:root:/root:/bin/bash\n')!;
  assert.equal(secret, { message: 'not valid JSON here', line: 1, column: 1 });
  // Deep nesting is neither a stack overflow nor a quote of the file.
  assert.match(j(`${'['.repeat(100000)}${']'.repeat(100000)}`)!.message, /expected a JSON object/);
});

test('targets: must give one value per class; [-1, 1] makes a file give exactly what gaussian gives', async () => {
  assert.equal(check('a,label\n1,x\n2,y\n', 'x.csv', { targets: [1, 2, 3] })?.param, 'targets');
  const g = await runStage(gaussian, { N: 8, d0: 3, seed: 4 });
  const X = g['X.f64'] as F64Array;
  const rows = Array.from({ length: 8 }, (_, i) => Array.from(X.data.subarray(i * 3, i * 3 + 3)));
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-dataset-'));
  const file = join(dir, 'g.json');
  writeFileSync(file, JSON.stringify({ X: rows, class_sizes: [4, 4] }));
  // As the engine hands it over: the file param already resolved to {path, sha256}.
  const runFile = (extra: Record<string, unknown> = {}) =>
    datasetFile.run({ params: { path: { path: file, sha256: '' }, format: 'auto', ...extra }, inputs: {}, progress: () => {}, log: () => {}, file: (p) => p.path }) as Record<string, unknown>;
  const asIs = runFile();
  // The documented convention: class_sizes gives classes 0, 1 and targets 0, 1.
  assert.equal((asIs['data.json'] as { targets: number[] }).targets, [0, 1]);
  const matched = runFile({ targets: [-1, 1] });
  for (const name of ['X.f64', 'y.f64']) assert.equal(Array.from((matched[name] as F64Array).data), Array.from((g[name] as F64Array).data), name);
  assert.equal(matched['data.json'], g['data.json']);
});

test.run();
