/** Expansion guards: data files inside the project, budgets before nodes are built, outputs that fit. */
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PipelineError, formatError } from '../../engine/errors.ts';
import { makeProject, plan, ranPerStage, run, TOY_CONFIG, TOY_STAGES } from '../helpers/project.ts';

const CSV = 'a,label\n1,x\n2,y\n';
const dataConfig = (path: string) => `stages:\n  data:\n    stage: dataset-file\n    params:\n      path: ${path}\n`;

async function planError(dir: string, target: string, set: string[] = [], maxNodes?: number): Promise<string> {
  try {
    await plan(dir, target, { set, maxNodes });
  } catch (e) {
    assert.instance(e, PipelineError);
    return formatError(e);
  }
  throw new Error('expected the plan to fail');
}

test('a data file outside the project: refused in a config, accepted as an absolute path given with --set', async () => {
  const outside = join(mkdtempSync(join(tmpdir(), 'pipeline-outside-')), 'mine.csv');
  writeFileSync(outside, CSV);
  const dir = makeProject({ 'configs/t.yml': dataConfig(outside), 'data/x.csv': CSV });
  assert.match(await planError(dir, 't'), /^configs\/t\.yml:5: stages\.data\.params\.path: files a config names must lie inside the project/);
  const ok = await plan(dir, 't', { set: [`stages.data.params.path=${outside}`] });
  assert.is(ok.nodes.length, 1);
  // A link inside the project to a file inside it is fine; to one outside it is not.
  symlinkSync(join(dir, 'data', 'x.csv'), join(dir, 'data', 'inner.csv'));
  symlinkSync(outside, join(dir, 'data', 'outer.csv'));
  writeFileSync(join(dir, 'configs', 'u.yml'), dataConfig('data/inner.csv'));
  writeFileSync(join(dir, 'configs', 'v.yml'), dataConfig('data/outer.csv'));
  assert.is((await plan(dir, 'u')).nodes.length, 1);
  assert.match(await planError(dir, 'v'), /must lie inside the project/);
});

test('the node budget is spent before nodes are built, and counts what each stage would make', async () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG });
  assert.is((await plan(dir, 'toy', { maxNodes: 13 })).nodes.length, 13);
  assert.match(await planError(dir, 'toy', [], 12), /stages\.total: this stage makes 1 nodes, which brings the target to 13, over the budget of 12 nodes/);
  const t0 = performance.now();
  assert.match(await planError(dir, 'toy', ['repeat=40000', 'n=[1,2,3]']), /stages\.source: this stage makes 120,000 nodes \(n: 3 x repeat: 40000\)/);
  assert.ok(performance.now() - t0 < 1000);
});

test('a target included from many places is loaded and expanded once (ten includes of ten levels)', async () => {
  const files: Record<string, string> = { ...TOY_STAGES, 'configs/t0.yml': 'stages:\n  s:\n    stage: source\n    params: { n: 1 }\n' };
  for (let k = 1; k <= 8; k++) files[`configs/t${k}.yml`] = `include: [${Array(10).fill(`t${k - 1}`).join(', ')}]\n`;
  const dir = makeProject(files);
  const t0 = performance.now();
  const s = await plan(dir, 't8');
  assert.is(s.nodes.length, 1);
  assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
});

test('--set cannot reach the prototype', async () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG });
  assert.match(await planError(dir, 'toy', ['vars.__proto__.factor=5']), /"__proto__" is not allowed/);
  assert.is(({} as Record<string, unknown>).factor, undefined);
});

test('an including target reads an included target\'s stage as <target>/<stage>; its nodes are shared, not rebuilt', async () => {
  const including = (inputs: string) => `include: [toy]
stages:
  check:
    stage: sum
    inputs:
${inputs}
publish: check
`;
  const dir = makeProject({
    ...TOY_STAGES,
    'configs/toy.yml': TOY_CONFIG,
    'configs/all.yml': including('      xs: [toy/total, toy/scale]'),
    'configs/bad.yml': including('      xs: [total]'),
    'configs/one.yml': `include: [toy]
stages:
  check:
    stage: scale
    inputs:
      x: toy/scale
    params: { factor: 1 }
`,
  });
  assert.equal(ranPerStage(await run(dir, 'toy')), { source: 6, scale: 6, total: 1 });
  const s = await run(dir, 'all');
  assert.equal(ranPerStage(s), { check: 1 }, 'only the new stage runs: the included nodes are the same nodes');
  assert.match(await planError(dir, 'bad'), /configs\/bad\.yml:\d+: .*no stage named "total" \(stages: check; a stage of an included target is named <target>\/<stage>, e.g\. toy\/source\)/);
  assert.match(await planError(dir, 'one'), /input "x" takes one node, but toy\/scale has 6: gather it/);
});

test.run();
