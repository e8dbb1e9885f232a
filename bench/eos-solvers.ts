/**
 * `npm run bench:eos-solvers -- <target> [--profile <p>] [--cache-dir <dir>] [--jobs <n>]`: builds
 * the target's EoS cells twice — every `eos` stage with `solver: fast` (the default) and with
 * `solver: scipy` (the original's Newton–Krylov) — through `pipeline diff`, and prints per cell the
 * |Δ log10 NC1 mean| between them, largest first, then the largest of all. Both builds go to the
 * cache, so a rerun costs nothing and a full-profile run can be resumed where it stopped.
 * `pipeline diff` also writes its side-by-side report to reports/diffs/<target>/.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTarget, resolveTargetFile } from '../engine/config/config.ts';
import type { ResultsDiff } from '../engine/report/results-diff.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const target = args.find((a, i) => !a.startsWith('-') && !(i > 0 && args[i - 1].startsWith('-')));
if (!target) {
  console.error('usage: npm run bench:eos-solvers -- <target> [--profile <p>] [--cache-dir <dir>] [--jobs <n>]');
  process.exit(2);
}
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const profile = opt('--profile');
const spec = loadTarget(resolveTargetFile(root, target), { root, profile });
const eosStages = Object.values(spec.stages).filter((s) => s.kind === 'eos').map((s) => s.name);
if (!eosStages.length) {
  console.error(`${target} has no eos stage: nothing to compare`);
  process.exit(2);
}
const passOn = ['--profile', '--cache-dir', '--jobs'].flatMap((k) => (opt(k) ? [k, opt(k)!] : []));
const cli = [join(root, 'bin', 'pipeline.mjs'), 'diff', target, ...passOn, ...eosStages.flatMap((s) => ['--set', `stages.${s}.params.solver=scipy`]), '--field', 'log10_nc1_mean', '--json'];
console.error(`building ${target}${profile ? ` (${profile})` : ''} with solver fast, then with solver scipy on ${eosStages.join(', ')} …`);
const r = spawnSync(process.execPath, cli, { cwd: process.cwd(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
if (r.status !== 0) process.exit(r.status ?? 1);
const report = JSON.parse(r.stdout) as { diff: ResultsDiff };
const cells = report.diff.cells
  .filter((c) => c.fields.log10_nc1_mean?.delta !== null && c.fields.log10_nc1_mean?.delta !== undefined && c.fields.log10_nc1_mean.delta !== 0)
  .map((c) => ({ cell: Object.entries(c.coords).map(([k, v]) => `${k}=${v}`).join(' '), a: c.fields.log10_nc1_mean.a!, b: c.fields.log10_nc1_mean.b!, d: Math.abs(c.fields.log10_nc1_mean.delta!) }))
  .sort((x, y) => y.d - x.d);
console.log(`|Δ log10 NC1 mean| per cell, solver fast (A) vs scipy (B), ${target}${profile ? ` profile ${profile}` : ''}; cells that differ: ${cells.length}`);
for (const c of cells) console.log(`${c.cell.padEnd(60)} A ${c.a.toFixed(6)}  B ${c.b.toFixed(6)}  |Δ| ${c.d.toExponential(2)}`);
console.log(`largest |Δ log10 NC1 mean|: ${cells.length ? `${cells[0].d.toExponential(2)} dex (${cells[0].cell})` : '0 (no cell differs)'}`);
