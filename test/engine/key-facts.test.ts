/**
 * @linalg-dependent: test/run.mjs runs this file again with PIPELINE_LINALG=ort where OpenBLAS is
 * the default, so that a fresh machine's backend is checked in CI too.
 *
 * Key facts follow the code: what a stage's imports use outside its code (a backend, a thread
 * count) enters its node keys without the stage declaring it, and a worker that sees other facts
 * than the key refuses to run.
 */
import { transformSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createStageResolver } from '../../engine/keys/stages.ts';
import { loadNative, loadOrtLinalg } from '../../numerics/backend.ts';
import { BUILD_DIR, cli, makeProject, PACKAGE_ROOT, plan, ranPerStage, run, TOY_STAGES } from '../helpers/project.ts';

const builtIn = createStageResolver({ projectRoot: PACKAGE_ROOT, packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR });

/** The names a source file registers key facts under: registerKeyFacts('name', ...) calls in its code (not its comments). */
function registrations(file: string): string[] {
  const code = transformSync(readFileSync(join(PACKAGE_ROOT, file), 'utf8'), { loader: 'ts', legalComments: 'none' }).code;
  return [...code.matchAll(/registerKeyFacts\(\s*['"`]([^'"`]+)['"`]/g)].map((m) => m[1]);
}

/** The backend this process should be on, decided here rather than by backend() (the code under test): forced, else OpenBLAS, else ORT, else TypeScript. */
const expectedLinalg = process.env.PIPELINE_LINALG ?? (loadNative() ? 'native' : loadOrtLinalg() ? 'ort' : 'js');

test('every built-in stage whose bundle includes numerics/backend.ts has the linear-algebra backend in its env', async () => {
  let reaching = 0;
  for (const kind of builtIn.kinds()) {
    const stage = await builtIn.load(kind);
    if (!('numerics/backend.ts' in stage.sources)) continue;
    reaching++;
    assert.is(stage.env.linalg, expectedLinalg, `${kind}: env.linalg is ${stage.env.linalg}, expected ${expectedLinalg}`);
    // What changes the last bits on each backend is in the key with it.
    if (stage.env.linalg === 'native') assert.ok(stage.env.blas_threads, `${kind}: no env.blas_threads`);
    if (stage.env.linalg === 'ort') for (const f of ['ort', 'ort_isa', 'ort_threads']) assert.ok(stage.env[f], `${kind}: no env.${f}`);
  }
  // kernel, eos and nc1 (gram: true) at least: the list comes from the bundles, not from here.
  assert.ok(reaching >= 3, `only ${reaching} stages reach the backend`);
});

test('every built-in stage has the facts of every module in its bundle that registers some', async () => {
  for (const kind of builtIn.kinds()) {
    const stage = await builtIn.load(kind);
    for (const file of Object.keys(stage.sources)) {
      for (const name of registrations(file)) assert.ok(stage.factSources.includes(name), `${kind}: ${file} registers "${name}", missing from the key`);
    }
  }
});

/** A project module that reads a fact from the environment, and stages that do or do not import it. */
const FACTS_PROJECT = {
  ...TOY_STAGES,
  'stages/lib/flavour.ts': `import { registerKeyFacts } from '${PACKAGE_ROOT}/engine/stage-api.ts';
registerKeyFacts('flavour', () => ({ flavour: process.env.TOY_FLAVOUR ?? 'plain' }));
export const flavoured = (v: number) => v + 1;
`,
  'stages/spiced.ts': `import { defineStage } from '${PACKAGE_ROOT}/engine/stage-api.ts';
import { flavoured } from './lib/flavour.ts';
export default defineStage({
  description: 'uses the flavoured helper; declares no env',
  params: {},
  inputs: { x: { doc: 'a source node' } },
  run({ inputs }) { return { 'value.json': { v: flavoured(inputs.x.json('value.json').v) } }; },
});
`,
  'configs/f.yml': `sweep:
  n: [1, 2]
stages:
  source:
    stage: source
    params: { n: "\${n}" }
  spiced:
    stage: spiced
    inputs: { x: source }
`,
};

test('a fact registered by an imported module reruns exactly the stages importing it; plan says which fact', async () => {
  const dir = makeProject(FACTS_PROJECT);
  const before = process.env.TOY_FLAVOUR;
  try {
    delete process.env.TOY_FLAVOUR;
    assert.equal(ranPerStage(await run(dir, 'f')), { source: 2, spiced: 2 });
    process.env.TOY_FLAVOUR = 'smoked';
    const p = await plan(dir, 'f');
    assert.equal(p.nodes.filter((n) => n.status === 'would-run').map((n) => n.changed), [['env.flavour: plain -> smoked'], ['env.flavour: plain -> smoked']]);
    assert.equal(ranPerStage(await run(dir, 'f')), { spiced: 2 });
  } finally {
    if (before === undefined) delete process.env.TOY_FLAVOUR;
    else process.env.TOY_FLAVOUR = before;
  }
});

test('a worker that reads another fact than the key has refuses to run the job; nothing is filed', async () => {
  const dir = makeProject({
    ...FACTS_PROJECT,
    'stages/lib/flavour.ts': `import { isMainThread } from 'node:worker_threads';
import { registerKeyFacts } from '${PACKAGE_ROOT}/engine/stage-api.ts';
registerKeyFacts('flavour', () => ({ flavour: isMainThread ? 'main' : 'worker' }));
export const flavoured = (v: number) => v + 1;
`,
  });
  const s = await run(dir, 'f');
  assert.equal(ranPerStage(s), { source: 2 });
  assert.is(s.failed, 2);
  const failed = s.nodes.find((n) => n.status === 'failed')!;
  assert.match(failed.error!, /refusing to run spiced\[n=1\]: before it ran, flavour is "worker" here but "main" in the node key/);
  assert.equal(ranPerStage(await run(dir, 'f')), {});
});

const LAZY_STAGE = `import { defineStage } from '${PACKAGE_ROOT}/engine/stage-api.ts';
export default defineStage({
  description: 'imports the flavoured helper lazily',
  params: {},
  inputs: { x: { doc: 'a source node' } },
  async run({ inputs }) { const { flavoured } = await import('./lib/flavour.ts'); return { 'value.json': { v: flavoured(inputs.x.json('value.json').v) } }; },
});
`;

test('a module imported only inside run would register too late: the stage is refused when it loads', async () => {
  const dir = makeProject({ ...FACTS_PROJECT, 'stages/spiced.ts': LAZY_STAGE });
  try {
    await run(dir, 'f');
    assert.unreachable('the run should have been refused');
  } catch (e) {
    assert.match((e as Error).message, 'stages/spiced.ts: stages/lib/flavour.ts registers key facts ("flavour") that its node keys would miss');
  }
});

test('... and where the bundle cannot tell (a computed name), the worker refuses instead of filing under a key without it', async () => {
  const dir = makeProject({
    ...FACTS_PROJECT,
    'stages/spiced.ts': LAZY_STAGE,
    'stages/lib/flavour.ts': `import { registerKeyFacts } from '${PACKAGE_ROOT}/engine/stage-api.ts';
const NAME = ['fla', 'vour'].join('');
registerKeyFacts(NAME, () => ({ flavour: 'plain' }));
export const flavoured = (v: number) => v + 1;
`,
  });
  const s = await run(dir, 'f');
  assert.is(s.failed, 2);
  // The first job in a worker sees the fact appear while it runs; a later job in the same worker
  // (which one is a matter of timing) sees it before: either way it is refused.
  for (const n of s.nodes.filter((x) => x.status === 'failed')) assert.match(n.error!, /(while|before) it ran, flavour is "plain" here but absent in the node key/);
  assert.ok(s.nodes.some((n) => /while it ran/.test(n.error ?? '')));
});

test("a project stage's own env() still enters its key (a plain object, no defineStage)", async () => {
  const dir = makeProject({
    ...TOY_STAGES,
    'stages/dated.ts': `export default {
  description: 'declares a fact of its own',
  params: {},
  env: () => ({ calendar: process.env.TOY_CALENDAR ?? 'gregorian' }),
  run() { return { 'value.json': { v: 1 } }; },
};
`,
    'configs/d.yml': 'stages:\n  dated:\n    stage: dated\n',
  });
  try {
    assert.equal(ranPerStage(await run(dir, 'd')), { dated: 1 });
    process.env.TOY_CALENDAR = 'julian';
    assert.equal((await plan(dir, 'd')).nodes[0].changed, ['env.calendar: gregorian -> julian']);
    assert.equal(ranPerStage(await run(dir, 'd')), { dated: 1 });
  } finally {
    delete process.env.TOY_CALENDAR;
  }
});

test('a linear-algebra backend switch reruns the nc1 gram node (it declares no env), not the data', () => {
  // From this process's backend to the TypeScript one, which every machine has (from js: to ort).
  const a = expectedLinalg;
  const b = a === 'js' ? 'ort' : 'js';
  if (b === 'ort' && !loadOrtLinalg()) return void console.log('  (only the TypeScript backend loads here: no backend switch to test)');
  const dir = makeProject({
    'configs/g.yml': `stages:
  data:
    stage: gaussian
    params: { N: 64, d0: 4, seed: 1 }
  nc1:
    stage: nc1
    inputs: { data: data }
    params: { gram: true }
`,
  });
  const first = cli(dir, ['run', 'g', '--json'], { PIPELINE_LINALG: a });
  assert.is(first.code, 0, first.stderr);
  const p = cli(dir, ['plan', 'g', '--json'], { PIPELINE_LINALG: b });
  const nodes = JSON.parse(p.stdout).nodes as { id: string; status: string; changed?: string[] }[];
  const rerun = nodes.filter((n) => n.status === 'would-run');
  assert.equal(rerun.map((n) => n.id), ['nc1']);
  assert.ok(rerun[0].changed!.includes(`env.linalg: ${a} -> ${b}`), JSON.stringify(rerun[0].changed));
  // The facts of the backend left behind go with it (blas_threads for native; ort, ort_isa, ort_threads for ort).
  const gone = a === 'native' ? ['blas_threads'] : a === 'ort' ? ['ort', 'ort_isa', 'ort_threads'] : [];
  for (const f of gone) assert.ok(rerun[0].changed!.some((c) => c.startsWith(`env.${f}: `) && c.endsWith('-> unset')), `env.${f} not said to change: ${JSON.stringify(rerun[0].changed)}`);
});

test.run();
