/** verify: a flipped byte is found and recomputed; a stage that is not a pure function is caught. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, makeProject, TOY_CONFIG, TOY_STAGES } from '../helpers/project.ts';

test('verify --sample 1 re-executes every node of a deterministic target: nothing differs', () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG });
  assert.is(cli(dir, ['run', 'toy']).code, 0);
  const v = cli(dir, ['verify', 'toy', '--sample', '1']);
  assert.is(v.code, 0, v.stdout);
  assert.match(v.stdout, 'verified 13 entries: 0 corrupt; re-executed 13: 0 differ');
});

test('re-execution gives a node the inputs as its job saw them: upstream name, stage and coordinates', () => {
  // echo's output is what it was told about its input (its coordinates included). Target b's
  // nodes have other names but the same keys: they are served from a's entries, and those
  // entries must re-execute with the names a's jobs saw.
  const echo = `export default {
  description: 'what it saw of its input',
  params: {},
  inputs: { x: { doc: 'any node' } },
  run({ inputs }) { const h = inputs.x; return { 'seen.json': { id: h.id, stage: h.stage, coords: h.coords } }; },
};
`;
  const config = (up: string, down: string) => `sweep:\n  n: [1, 2]\nstages:\n  ${up}:\n    stage: source\n    params:\n      n: \${n}\n  ${down}:\n    stage: echo\n    inputs:\n      x: ${up}\n`;
  const dir = makeProject({ ...TOY_STAGES, 'stages/echo.ts': echo, 'configs/a.yml': config('source', 'echo'), 'configs/b.yml': config('renamed', 'echo2') });
  for (const t of ['a', 'b']) {
    const r = cli(dir, ['run', t]);
    assert.is(r.code, 0, r.stderr);
  }
  const v = cli(dir, ['verify', '--sample', '1']);
  assert.is(v.code, 0, v.stdout);
  assert.match(v.stdout, 'verified 4 entries: 0 corrupt; re-executed 4: 0 differ');
});

test('a stage that is not a pure function is reported as not reproducible (exit 1)', () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/n.yml': 'stages:\n  n:\n    stage: noisy\n' });
  assert.is(cli(dir, ['run', 'n']).code, 0);
  const v = cli(dir, ['verify', 'n', '--sample', '1']);
  assert.is(v.code, 1);
  assert.match(v.stdout, /not reproducible: n \([0-9a-f]{12}\): value\.json differ/);
});

test('one flipped byte: verify reports and removes the entry; the next run recomputes only it', () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG });
  cli(dir, ['run', 'toy']);
  const objects = join(dir, 'cache', 'objects');
  const entry = readdirSync(objects).flatMap((s) => readdirSync(join(objects, s)).map((k) => join(objects, s, k))).find((e) => JSON.parse(readFileSync(join(e, 'meta.json'), 'utf8')).id === 'total')!;
  const file = join(entry, 'value.json');
  const bytes = readFileSync(file);
  bytes[5] ^= 1;
  writeFileSync(file, bytes);
  const v = cli(dir, ['verify']);
  assert.is(v.code, 1);
  assert.match(v.stdout, /corrupt: total .*value\.json; removed/);
  const s = JSON.parse(cli(dir, ['run', 'toy', '--json']).stdout);
  assert.equal([s.ran, s.cached], [1, 12]);
});

test.run();
