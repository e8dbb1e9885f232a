/**
 * The numpy cross-check (crosscheck/kernel_nc1.py) against the TypeScript `kernel` stage, on the
 * data nodes of fig3's quick sweep (N 128, 256; d0 1, 2, 8, 32, 128; 2 repeats) built by the
 * `gaussian` stage: NNGP, NTK and the original code's NTK must agree to 1e-10 in log10 NC1 in
 * every cell. The Python program reads the data node's folder from the cache, as the `command`
 * stage hands it over.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { showCommand } from '../../engine/commands.ts';
import { BUILD_DIR, makeProject, PACKAGE_ROOT, run } from '../helpers/project.ts';
import { pythonWithNumpy } from '../helpers/python.ts';

const SCRIPT = join(PACKAGE_ROOT, 'crosscheck', 'kernel_nc1.py');

const CONFIG = `title: xcheck
sweep:
  N: [128, 256]
  d0: [1, 2, 8, 32, 128]
  repeat: 2
stages:
  data:
    stage: gaussian
    params: { N: "\${N}", d0: "\${d0}", means: [-2, 2], std: 0.5, seed: "\${repeat}" }
  nngp:
    stage: kernel
    inputs: { data: data }
    params: { model: nngp }
  ntk:
    stage: kernel
    inputs: { data: data }
    params: { model: ntk }
  ntk_compat:
    stage: kernel
    inputs: { data: data }
    params: { model: ntk, compat: shallow_nc1 }
`;

const SERIES: Record<string, string[]> = { nngp: ['--model', 'nngp', '--compat', 'none'], ntk: ['--model', 'ntk', '--compat', 'none'], ntk_compat: ['--model', 'ntk', '--compat', 'shallow_nc1'] };

interface Stats {
  nc1: number;
  Tr_Sigma_W: number;
  Tr_Sigma_B: number;
  N: number;
  d0: number;
  class_sizes: number[];
  model: string;
  compat: string;
  activation: string;
  compat_scalar?: number;
}

const entryDir = async (dir: string, id: string) => ((await showCommand(id, { packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir })) as { dir: string }).dir;

function python(py: string, args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(py, [SCRIPT, ...args], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env } });
  if (r.status !== 0) throw new Error(`kernel_nc1.py ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

test('numpy and the kernel stage agree to 1e-10 in log10 NC1 in every cell of the fig3 quick sweep', async () => {
  const py = pythonWithNumpy();
  if (!py) return;
  const dir = makeProject({ 'configs/xcheck.yml': CONFIG });
  const s = await run(dir, 'xcheck', { jobs: 2 });
  assert.is(s.failed, 0);
  const out = mkdtempSync(join(tmpdir(), 'pipeline-xcheck-'));
  let worst = { delta: 0, id: '' };
  let cells = 0;
  for (const kernelNode of s.nodes.filter((n) => n.stage in SERIES)) {
    const dataId = kernelNode.id.replace(/^\w+\[/, 'data[');
    const file = join(out, `${kernelNode.id.replace(/[^\w=,]/g, '_')}.json`);
    python(py, [...SERIES[kernelNode.stage], '--data', await entryDir(dir, dataId), '--out', file]);
    const mine = JSON.parse(readFileSync(file, 'utf8')) as Stats;
    const theirs = JSON.parse(readFileSync(join(await entryDir(dir, kernelNode.id), 'stats.json'), 'utf8')) as Stats;
    // The same shape as the stage's stats.json: what aggregate, plot and report read.
    for (const k of ['model', 'compat', 'activation', 'N', 'd0'] as const) assert.is(mine[k], theirs[k], `${kernelNode.id}: ${k}`);
    assert.equal(mine.class_sizes, theirs.class_sizes);
    assert.ok(theirs.nc1 > 0 && mine.nc1 > 0, `${kernelNode.id}: NC1 ${theirs.nc1} vs ${mine.nc1}`);
    const delta = Math.abs(Math.log10(mine.nc1) - Math.log10(theirs.nc1));
    if (delta >= worst.delta) worst = { delta, id: kernelNode.id };
    if (theirs.compat_scalar !== undefined) assert.ok(Math.abs(mine.compat_scalar! / theirs.compat_scalar - 1) < 1e-13, `${kernelNode.id}: compat scalar`);
    cells++;
  }
  assert.is(cells, 60);
  console.log(`  largest |Δ log10 NC1| over ${cells} kernel nodes: ${worst.delta.toExponential(2)} (${worst.id})`);
  assert.ok(worst.delta <= 1e-10, `largest |Δ log10 NC1| ${worst.delta} at ${worst.id}`);
});

test("the original code's NTK differs from the corrected one by far more than the tolerance (the check can tell them apart)", async () => {
  const py = pythonWithNumpy();
  if (!py) return;
  const dir = makeProject({ 'configs/xcheck.yml': CONFIG.replace('N: [128, 256]', 'N: [128]').replace('d0: [1, 2, 8, 32, 128]', 'd0: [8]').replace('repeat: 2', 'repeat: 1') });
  const s = await run(dir, 'xcheck', { jobs: 2 });
  const dataDir = await entryDir(dir, s.nodes.find((n) => n.stage === 'data')!.id);
  const out = mkdtempSync(join(tmpdir(), 'pipeline-xcheck-'));
  python(py, ['--model', 'ntk', '--compat', 'shallow_nc1', '--data', dataDir, '--out', join(out, 'compat.json')]);
  const compat = JSON.parse(readFileSync(join(out, 'compat.json'), 'utf8')) as Stats;
  const ntkId = s.nodes.find((n) => n.stage === 'ntk')!.id;
  const corrected = JSON.parse(readFileSync(join(await entryDir(dir, ntkId), 'stats.json'), 'utf8')) as Stats;
  assert.ok(Math.abs(Math.log10(compat.nc1) - Math.log10(corrected.nc1)) > 0.1, `${compat.nc1} vs ${corrected.nc1}`);
});

test('run as a command stage would: params file, input folder and output folder from the environment', async () => {
  const py = pythonWithNumpy();
  if (!py) return;
  const dir = makeProject({ 'configs/xcheck.yml': CONFIG.replace('N: [128, 256]', 'N: [128]').replace('d0: [1, 2, 8, 32, 128]', 'd0: [2]').replace('repeat: 2', 'repeat: 1') });
  const s = await run(dir, 'xcheck', { jobs: 2 });
  const out = mkdtempSync(join(tmpdir(), 'pipeline-xcheck-'));
  writeFileSync(join(out, 'params.json'), JSON.stringify({ model: 'nngp', compat: 'none' }));
  python(py, [], { PIPELINE_PARAMS: join(out, 'params.json'), PIPELINE_INPUT_DATA: await entryDir(dir, s.nodes.find((n) => n.stage === 'data')!.id), PIPELINE_OUT: out });
  const mine = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as Stats;
  const theirs = JSON.parse(readFileSync(join(await entryDir(dir, s.nodes.find((n) => n.stage === 'nngp')!.id), 'stats.json'), 'utf8')) as Stats;
  assert.ok(Math.abs(Math.log10(mine.nc1) - Math.log10(theirs.nc1)) <= 1e-10);
});

test('a data folder whose X.f64 does not match data.json is refused with both sizes named', async () => {
  const py = pythonWithNumpy();
  if (!py) return;
  const bad = mkdtempSync(join(tmpdir(), 'pipeline-xcheck-bad-'));
  writeFileSync(join(bad, 'data.json'), JSON.stringify({ N: 4, d0: 2, class_sizes: [2, 2], targets: [-1, 1] }));
  writeFileSync(join(bad, 'X.f64'), Buffer.alloc(8 * 7));
  const r = spawnSync(py, [SCRIPT, '--model', 'nngp', '--data', bad, '--out', join(bad, 'o.json')], { encoding: 'utf8' });
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /X\.f64: 56 bytes, expected 8 \* N \* d0 = 64 \(N = 4, d0 = 2\)/);
});

test.run();
