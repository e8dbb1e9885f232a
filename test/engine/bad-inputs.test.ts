/**
 * A fast subset of the bad-input matrix (test/soak/bad-input-cases.mjs; all of it runs with
 * `npm run soak:inputs`): one case of each kind, through the CLI in a temp project.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import cases from '../soak/bad-input-cases.mjs';
import { runCase } from '../soak/bad-inputs.mjs';

const FAST = [
  'alias bomb referenced by a param',
  'alias bomb, show',
  'repeat: 1e9',
  'two axes of 300 values: 90,000 nodes',
  '--jobs 1000',
  'gc --keep-last 0',
  'N = 10^12',
  'kernel fed by a stage that writes value.json',
  'CSV hex 0x10',
  'JSON null in X',
  'symlink inside the project to /etc/passwd',
  '--set path=/etc/passwd: read, never echoed',
  'run ..',
  'extends: ../../../../etc/passwd',
  '--set vars.__proto__.activation=relu',
];

for (const name of FAST) {
  test(name, () => {
    const c = cases.find((x) => x.name === name);
    assert.ok(c, `no case named ${name}`);
    // The soak holds each case to 2 s; here other tests may share the cores, so 5 s.
    const r = runCase(c!, 5);
    assert.equal(r.problems, [], `${r.message}`);
  });
}

test.run();
