import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lineColumn, scanJson } from '../../../stages/lib/json-scan.ts';

test('finds the value at a path, and the first syntax error', () => {
  const text = '{"X": [[1, 2],\n  [3, null]], "y\\u0041": [0, 1]}';
  assert.equal(lineColumn(text, scanJson(text, ['X', 1, 1]).found!), { line: 2, column: 7 });
  assert.equal(lineColumn(text, scanJson(text, ['yA', 1]).found!), { line: 2, column: 30 });
  assert.equal(scanJson(text), {});
  for (const [bad, at] of [['{"a" 1}', 5], ['[1, 2', 5], ['[1,, 2]', 3], ['{"a": tru}', 6], ['[1] x', 4], ['"abc', 0]] as const) {
    assert.is(scanJson(bad).error, at, bad);
  }
});

test.run();
