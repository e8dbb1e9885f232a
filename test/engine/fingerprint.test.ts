/** Code fingerprints follow what the code does: comments and layout change no key, code does. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProject, plan, ranPerStage, run, TOY_CONFIG, TOY_STAGES } from '../helpers/project.ts';

const fresh = () => makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG });
const edit = (file: string, change: (text: string) => string) => writeFileSync(file, change(readFileSync(file, 'utf8')));
const keys = (s: { nodes: { id: string; key?: string }[] }) => Object.fromEntries(s.nodes.map((n) => [n.id, n.key]));

test('a comment in a stage reruns nothing: same keys, 0 to run', async () => {
  const dir = fresh();
  const first = await run(dir, 'toy');
  edit(join(dir, 'stages/scale.ts'), (t) => `/** A doc comment about scaling. */\n${t.replace('run({', '// multiplies\n  run({')}`);
  const p = await plan(dir, 'toy');
  assert.equal(keys(p), keys(first));
  assert.equal(ranPerStage(await run(dir, 'toy')), {});
});

test('re-indenting a stage and reflowing its lines reruns nothing', async () => {
  const dir = fresh();
  const first = await run(dir, 'toy');
  edit(join(dir, 'stages/scale.ts'), (t) => t.replace(/^ {2}/gm, '\t\t').replace(/, /g, ',\n      '));
  assert.equal(keys(await plan(dir, 'toy')), keys(first));
  assert.equal(ranPerStage(await run(dir, 'toy')), {});
});

test('a code edit still reruns the stage and its dependants; plan names the file', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  edit(join(dir, 'stages/scale.ts'), (t) => t.replace('* params.factor', '* params.factor + 1'));
  const p = await plan(dir, 'toy');
  assert.equal(p.nodes.find((n) => n.stage === 'scale')!.changed, ['code: stages/scale.ts']);
  assert.equal(ranPerStage(await run(dir, 'toy')), { scale: 6, total: 1 });
});

test('a string edit inside a stage is code: it reruns', async () => {
  const dir = fresh();
  await run(dir, 'toy');
  edit(join(dir, 'stages/source.ts'), (t) => t.replace("'emits n * 10 + seed'", "'emits n * 10 + seed (documented)'"));
  assert.equal(ranPerStage(await run(dir, 'toy')), { source: 6 });
});

test.run();
