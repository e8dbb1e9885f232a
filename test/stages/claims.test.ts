/** The abstract's claims on small synthetic aggregates: which cells support each, which do not, which cannot tell. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SummaryRow } from '../../stages/aggregate.ts';
import { checkClaims, compareTrends, trendSign, type FigureResults } from '../../stages/lib/claims.ts';
import claimsStage from '../../stages/claims.ts';
import { memoryInput, runStage } from '../helpers/stage.ts';

const row = (model: string, N: number, d0: number, mean: number | null, extra: Partial<SummaryRow> = {}): SummaryRow => ({
  model,
  activation: 'erf',
  N,
  d0,
  class_sizes: [N / 2, N / 2],
  repeats: 2,
  failed: mean === null ? 2 : 0,
  log10_nc1_mean: mean,
  log10_nc1_std: mean === null ? null : 0.01,
  rel_log10_nc1_mean: null,
  rel_log10_nc1_std: null,
  ...extra,
});

// fig3-like: the NTK is above the NNGP except at N = 256, d0 = 8 (against), and N = 256, d0 = 1 failed for ntk_compat.
const fig3: FigureResults = {
  target: 'fig3',
  profile: 'quick',
  rows: [
    row('nngp', 128, 1, -2.0),
    row('nngp', 128, 8, -1.0),
    row('nngp', 256, 1, -2.1),
    row('nngp', 256, 8, -1.1),
    row('ntk', 128, 1, -1.5),
    row('ntk', 128, 8, -0.7),
    row('ntk', 256, 1, -1.6),
    row('ntk', 256, 8, -1.2),
    row('ntk_compat', 128, 1, -2.01),
    row('ntk_compat', 128, 8, -1.0),
    row('ntk_compat', 256, 1, null),
    row('ntk_compat', 256, 8, -1.05),
  ],
};

// fig4-like: erf below relu everywhere but for the fcn at N = 128, d0 = 8.
const fig4: FigureResults = {
  target: 'fig4',
  profile: 'full',
  rows: [
    row('fcn', 128, 1, -2.0),
    row('fcn', 128, 8, -0.5),
    row('fcn', 128, 1, -0.9, { activation: 'relu' }),
    row('fcn', 128, 8, -0.9, { activation: 'relu' }),
    row('nngp', 128, 1, -2.1),
    row('nngp', 128, 8, -1.0),
    row('nngp', 128, 1, -0.9, { activation: 'relu' }),
    row('nngp', 128, 8, -0.93, { activation: 'relu' }),
  ],
};

// fig5-like: adaptive below nngp except at d0 = 32; trends over d0 1 -> 8 -> 32 -> 128 at N = 128:
// adaptive up, up, down; fcn up, down, down (within 0.01: flat counts as flat).
const fig5: FigureResults = {
  target: 'fig5',
  profile: 'quick',
  rows: [
    row('nngp', 128, 1, -2.0),
    row('nngp', 128, 8, -1.0),
    row('nngp', 128, 32, -0.9),
    row('nngp', 128, 128, -0.85),
    row('adaptive', 128, 1, -2.1),
    row('adaptive', 128, 8, -1.1),
    row('adaptive', 128, 32, -0.8),
    row('adaptive', 128, 128, -0.9),
    row('fcn', 128, 1, -2.0),
    row('fcn', 128, 8, -2.2),
    row('fcn', 128, 32, -2.3),
    row('fcn', 128, 128, -2.305),
  ],
};

const cells = (cs: { cell: Record<string, string | number> }[]) => cs.map((c) => Object.values(c.cell).join(' '));

test('(a) NTK vs NNGP: per cell, the corrected and the original NTK apart; a failed cell cannot tell', () => {
  const [a] = checkClaims({ ntk: fig3, activation: fig4, adaptive: fig5, trendTol: 0.01 });
  assert.equal(a.checks.map((c) => [c.name.startsWith('NTK as its equations') ? 'ntk' : 'compat', c.profile, c.supports.length, c.against.length, c.undecided.length]), [
    ['ntk', 'quick', 3, 1, 0],
    ['compat', 'quick', 2, 1, 1],
  ]);
  assert.equal(cells(a.checks[0].against), ['256 8']);
  assert.match(a.checks[0].against[0].detail, 'ntk -1.2000, nngp -1.1000 (Δ -0.1000)');
  assert.equal(cells(a.checks[1].against), ['128 1']);
  assert.equal(cells(a.checks[1].undecided), ['256 1']);
  assert.match(a.checks[1].undecided[0].detail, 'ntk_compat failed');
});

test('(b) adaptive below NNGP, (d) erf below relu per model: the cells against are named', () => {
  const [, b, , d] = checkClaims({ ntk: fig3, activation: fig4, adaptive: fig5, trendTol: 0.01 });
  assert.is(b.checks.length, 1, 'no adaptive_compat rows: one check');
  assert.equal([b.checks[0].supports.length, cells(b.checks[0].against)], [3, ['128 32']]);
  assert.equal(d.checks.map((c) => [c.name, c.target, c.profile, c.supports.length, cells(c.against)]), [
    ['fcn', 'fig4', 'full', 1, ['fcn 128 8']],
    ['nngp', 'fig4', 'full', 2, []],
  ]);
});

test('(c) trends: the sign of the change between consecutive d0, flat within the tolerance', () => {
  assert.equal([trendSign(0.02, 0.01), trendSign(-0.005, 0.01), trendSign(-0.02, 0.01), trendSign(0, 0)], [1, 0, -1, 0]);
  const c = compareTrends(fig5, 'adaptive', 'fcn', 0.01, { name: 'c', test: 't' });
  // 1->8: adaptive up (+0.9), fcn down (-0.2): differ. 8->32: up vs down: differ. 32->128: down (-0.1) vs flat (-0.005): differ.
  assert.equal(cells(c.supports), ['128 1→8', '128 8→32', '128 32→128']);
  assert.equal(cells(c.against), []);
  // With a tolerance of 0.2 dex, 1->8 (fcn -0.2 is flat; adaptive +0.9 up) still differs; 32->128: both flat: they agree.
  const loose = compareTrends(fig5, 'adaptive', 'fcn', 0.2, { name: 'c', test: 't' });
  assert.equal(cells(loose.against), ['128 32→128']);
  assert.match(loose.against[0].detail, 'adaptive flat (-0.1000), fcn flat (-0.0050)');
});

test('imbalanced classes: cells keep their class sizes; fig6 adds its own checks', () => {
  const fig6: FigureResults = {
    target: 'fig6',
    profile: 'quick',
    rows: [
      row('nngp', 256, 1, -1.0, { class_sizes: [128, 128] }),
      row('nngp', 256, 1, -0.5, { class_sizes: [32, 224] }),
      row('adaptive', 256, 1, -1.2, { class_sizes: [128, 128] }),
      row('adaptive', 256, 1, -0.4, { class_sizes: [32, 224] }),
    ],
  };
  const [, b, c] = checkClaims({ ntk: fig3, activation: fig4, adaptive: fig5, imbalanced: fig6, trendTol: 0.01 });
  const six = b.checks.find((x) => x.target === 'fig6')!;
  assert.equal([cells(six.supports), cells(six.against)], [['256 1 128/128'], ['256 1 32/224']]);
  assert.is(c.checks.length, 1, 'fig6 without fcn rows has no trend check');
});

test('the claims stage: a Claims section naming each figure and its profile, and results.json', async () => {
  const port = (f: FigureResults) => memoryInput({ 'results.json': f });
  const out = (await runStage(claimsStage, { title: 'paper', description: 'The claims.', target: 'paper', profile: 'quick' }, { ntk: port(fig3), activation: port(fig4), adaptive: port(fig5) })) as Record<string, unknown>;
  const md = out['README.md'] as string;
  assert.match(md, '## Claims');
  assert.match(md, 'fig3 `quick`, fig4 `full`, fig5 `quick`');
  assert.match(md, '### (a) The NTK is not more collapsed than the NNGP');
  assert.match(md, '**NTK as its equations define it (corrected)** (fig3, profile `quick`): holds in 3 of 4 cells.');
  assert.match(md, 'Cells against (1): N = 256: d0 8.');
  assert.match(md, '**fcn** (fig4, profile `full`): holds in 1 of 2 cells.');
  const res = out['results.json'] as { figures: Record<string, { profile: string }>; claims: { id: string }[] };
  assert.equal(res.figures, { fig3: { profile: 'quick' }, fig4: { profile: 'full' }, fig5: { profile: 'quick' } });
  assert.equal(res.claims.map((c) => c.id), ['a', 'b', 'c', 'd']);
});

test.run();
