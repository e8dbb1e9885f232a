/**
 * Every figure `paper --profile quick` emits is readable: each colour, dash or shape encoding has
 * a titled legend, nothing is cut off (test/helpers/svg-legends.ts says what is checked).
 *
 * The build is CI's: `npm run reproduce` keeps one of its two builds' reports in
 * $PIPELINE_FIGURES_DIR (set by .ci/run), so the suite does not build the paper a third time.
 * Without it this test builds `paper --profile quick` itself in a temp project (minutes).
 */
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, makeProject, PACKAGE_ROOT } from '../helpers/project.ts';
import { legendProblems } from '../helpers/svg-legends.ts';

function reportsDir(): string {
  const given = process.env.PIPELINE_FIGURES_DIR;
  if (given && existsSync(join(given, 'README.md'))) return given;
  const dir = makeProject({});
  cpSync(join(PACKAGE_ROOT, 'configs'), join(dir, 'configs'), { recursive: true });
  const r = cli(dir, ['run', 'paper', '--profile', 'quick', '-q']);
  if (r.code !== 0) throw new Error(`paper --profile quick failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  return join(dir, 'reports');
}

test('every SVG of paper --profile quick has a titled legend for each encoded channel, nothing cut off', () => {
  const dir = reportsDir();
  const svgs = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.svg')).sort();
  // fig1-fig6: 2 each; fig7: 7; fig8: 3; papyan: 6.
  assert.ok(svgs.length >= 28, `expected every figure of the paper, found ${svgs.length} SVGs in ${dir}`);
  const problems = svgs.flatMap((f) => legendProblems(readFileSync(join(dir, f), 'utf8')).map((p) => `${f}: ${p}`));
  assert.equal(problems, []);
});

test('the checker catches a figure without a legend, an untitled legend and a cut-off label', () => {
  const line = (stroke: string) => `<path aria-label="x" d="M0,0L1,1" stroke="${stroke}"/>`;
  const marks = `<g class="mark-line role-mark layer_0_marks" role="graphics-object">${line('#111')}</g><g class="mark-line role-mark layer_0_marks">${line('#222')}</g>`;
  assert.equal(legendProblems(`<svg>${marks}</svg>`), ['mark "layer_0_marks" draws 2 different colours and no legend explains its colour']);
  const untitled = `<g class="mark-group role-legend" role="graphics-symbol" aria-label="Symbol legend for stroke color with 2 values: a, b">`;
  assert.equal(legendProblems(`<svg>${marks}${untitled}</g></svg>`), ['a legend has no title (Symbol legend for stroke color with 2 values: a, b…)']);
  const cut = `<g class="mark-group role-legend" aria-label="Symbol legend titled 'N' for stroke color with 2 values: a, b"><g class="mark-text role-legend-label"><text>hidden.trace_S_W_d…</text></g></g>`;
  assert.equal(legendProblems(`<svg>${marks}${cut}</svg>`), ['text cut off: "hidden.trace_S_W_d…"']);
});

test.run();
