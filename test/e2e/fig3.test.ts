// @linalg-dependent: results go through numerics/backend.ts; test/run.mjs reruns this file on `ort` where OpenBLAS is the default.
/** The real thing through the CLI, in a temp project: fig3 quick, then the changes a researcher makes. */
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, makeProject, PACKAGE_ROOT, ranPerStage, runJson } from '../helpers/project.ts';

const copy = (name: string) => readFileSync(join(PACKAGE_ROOT, 'configs', name), 'utf8');
const dir = makeProject({ 'configs/fig2.yml': copy('fig2.yml'), 'configs/fig3.yml': copy('fig3.yml') });
const perStage = ranPerStage;
const runQuick = (...args: string[]) => runJson(dir, 'fig3', '--profile', 'quick', ...args);

test('run fig3 --profile quick builds the report, SVGs and results.json', () => {
  const s = runQuick();
  assert.equal(perStage(s), { data: 20, data_nc1: 20, nngp: 20, ntk: 20, ntk_compat: 20, summary: 1, nc1_plot: 1, relative_plot: 1, report: 1 });
  const rep = join(dir, 'reports', 'fig3');
  const md = readFileSync(join(rep, 'README.md'), 'utf8');
  assert.match(md, '![nc1_plot](./nc1_plot.svg)');
  assert.match(md, '## Provenance');
  assert.match(md, 'All 60 runs produced a finite NC1.');
  for (const svg of ['nc1_plot.svg', 'relative_plot.svg']) assert.match(readFileSync(join(rep, svg), 'utf8'), /^<svg/);
  const results = JSON.parse(readFileSync(join(rep, 'results.json'), 'utf8'));
  assert.is(results.target, 'fig3');
  assert.is(results.profile, 'quick');
  assert.is(results.rows.length, 3 * 2 * 5);
  const row = results.rows.find((r: any) => r.model === 'ntk' && r.N === 128 && r.d0 === 8);
  for (const k of ['activation', 'class_sizes', 'repeats', 'failed', 'log10_nc1_mean', 'log10_nc1_std', 'rel_log10_nc1_mean', 'rel_log10_nc1_std']) assert.ok(k in row, k);
  assert.equal(row.class_sizes, [64, 64]);
  assert.is(row.repeats, 2);
  // The corrected erf NTK collapses less than the NNGP (DESIGN §4), at every cell.
  for (const r of results.rows.filter((x: any) => x.model === 'ntk')) {
    const nngp = results.rows.find((x: any) => x.model === 'nngp' && x.N === r.N && x.d0 === r.d0);
    assert.ok(r.log10_nc1_mean > nngp.log10_nc1_mean);
  }
  assert.match(readFileSync(join(dir, 'reports', 'README.md'), 'utf8'), '[fig3](fig3/README.md)');
});

test('a second run computes nothing', () => {
  const s = runQuick();
  assert.is(s.ran, 0);
  assert.is(s.cached, 104);
});

test('a rebuild that changes no node leaves every report file byte-identical; the README stays short', () => {
  const rep = join(dir, 'reports', 'fig3');
  const snapshot = () => Object.fromEntries(readdirSync(rep).map((f) => [f, readFileSync(join(rep, f), 'utf8')]));
  const before = snapshot();
  assert.ok('provenance.json' in before);
  assert.is(Object.keys(JSON.parse(before['provenance.json']).nodes).length, 104);
  // The first screen: findings before the figures, the figures before the table, provenance last.
  const md = before['README.md'];
  assert.ok(md.indexOf('## Findings') < md.indexOf('![nc1_plot]') && md.indexOf('![nc1_plot]') < md.indexOf('## Numbers') && md.indexOf('## Numbers') < md.indexOf('## Provenance'));
  assert.ok(md.split('\n').length < 120, `${md.split('\n').length} lines`);
  const s = runQuick('--force');
  assert.is(s.ran, 104);
  assert.equal(snapshot(), before);
});

test('--set activation=relu: kernels and what depends on them rerun, no data node does', () => {
  const plan = cli(dir, ['plan', 'fig3', '--profile', 'quick', '--set', 'activation=relu', '--json']);
  const p = JSON.parse(plan.stdout);
  assert.equal(p.nodes.find((n: any) => n.stage === 'nngp').changed, ['params.activation: "erf" -> "relu"']);
  const s = runQuick('--set', 'activation=relu');
  assert.equal(perStage(s), { nngp: 20, ntk: 20, ntk_compat: 20, summary: 1, nc1_plot: 1, relative_plot: 1, report: 1 });
  assert.is(perStage(s, 'cached').data, 20);
  const results = JSON.parse(readFileSync(join(dir, 'reports', 'fig3', 'results.json'), 'utf8'));
  assert.ok(results.rows.every((r: any) => r.activation === 'relu'));
});

test('fig2 shares its data and NNGP nodes with fig3', () => {
  const r = cli(dir, ['run', 'fig2', '--profile', 'quick', '--json']);
  const s = JSON.parse(r.stdout);
  assert.equal(perStage(s), { summary: 1, nc1_plot: 1, relative_plot: 1, report: 1 });
});

test('ls, show, graph, gc --dry-run, verify', () => {
  const ls = cli(dir, ['ls']);
  assert.match(ls.stdout, /fig3\s+ntk-vs-nngp/);
  assert.match(ls.stdout, /kernel\s+Limiting kernel/);
  const show = JSON.parse(cli(dir, ['show', 'fig3', '--profile', 'quick', '--json']).stdout);
  assert.is(show.nodes, 104);
  assert.is(show.stages.ntk, 20);
  const node = JSON.parse(cli(dir, ['show', 'report', '--json']).stdout);
  assert.ok(node.outputs['results.json']);
  assert.match(cli(dir, ['graph', 'fig3']).stdout, /flowchart LR[\s\S]*data --> nngp/);
  assert.match(cli(dir, ['gc', '--dry-run']).stdout, /would remove \d+ entries/);
  const v = cli(dir, ['verify']);
  assert.is(v.code, 0);
  assert.match(v.stdout, /: 0 corrupt/);
  // Re-executing a fifth of fig3's nodes in a scratch folder gives the same bytes.
  const sampled = cli(dir, ['verify', 'fig3', '--sample', '0.2']);
  assert.is(sampled.code, 0, sampled.stdout + sampled.stderr);
  assert.match(sampled.stdout, /re-executed (\d+): 0 differ/);
  assert.ok(Number(/re-executed (\d+)/.exec(sampled.stdout)![1]) >= 20);
});

test('verify finds a flipped byte; the next run recomputes that node', () => {
  const show = JSON.parse(cli(dir, ['show', 'report', '--json']).stdout);
  const file = join(show.dir, 'results.json');
  const bytes = readFileSync(file);
  bytes[10] ^= 1;
  writeFileSync(file, bytes);
  const v = cli(dir, ['verify']);
  assert.is(v.code, 1);
  assert.match(v.stdout, /corrupt: report/);
  const s = JSON.parse(cli(dir, ['run', 'fig2', '--profile', 'quick', '--json']).stdout);
  assert.equal(perStage(s), { report: 1 });
});

test('a user dataset from CSV runs through the kernel stages', () => {
  const rows = ['x1,x2,label'];
  for (let i = 0; i < 12; i++) rows.push(`${(i % 3) - 3 + i / 100},${i / 50},${i < 6 ? 'a' : 'b'}`);
  const d = makeProject({
    'data/mine.csv': rows.join('\n'),
    'configs/mine.yml': `stages:
  data:
    stage: dataset-file
    params: { path: data/mine.csv }
  k:
    stage: kernel
    inputs: { data: data }
    params: { model: ntk }
`,
  });
  const r = cli(d, ['run', 'mine', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).ran, 2);
  // Editing the data file reruns the data node (its content hash is in the key).
  writeFileSync(join(d, 'data/mine.csv'), `${rows.join('\n')}\n1,1,a`);
  const again = JSON.parse(cli(d, ['run', 'mine', '--json']).stdout);
  assert.is(again.ran, 2);
  assert.ok(existsSync(join(d, 'cache')) && readdirSync(join(d, 'cache', 'objects')).length > 0);
});

test.run();
