// Reproducibility proof (CI runs it before the tests): builds a target twice from empty caches, in
// two temporary projects, and checks that every node key, every node's output digest and every
// report's results.json are identical; then re-executes a sample of nodes with `verify`.
// Usage: node test/reproduce.mjs [target=paper] [profile=quick] [sample=0.2]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [target = 'paper', profile = 'quick', sample = '0.2'] = process.argv.slice(2);
const bin = join(root, 'bin', 'pipeline.mjs');
const fail = (msg) => {
  console.error(`NOT REPRODUCIBLE: ${msg}`);
  process.exit(1);
};

function build(label) {
  const dir = mkdtempSync(join(tmpdir(), `pipeline-reproduce-${label}-`));
  cpSync(join(root, 'configs'), join(dir, 'configs'), { recursive: true });
  const t = Date.now();
  const r = spawnSync(process.execPath, [bin, 'run', target, '--profile', profile, '--json'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, CI: 'true' } });
  if (r.status !== 0) fail(`build ${label} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const summary = JSON.parse(r.stdout);
  console.log(`build ${label}: ${summary.ran} nodes ran, ${summary.failed} failed, ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return { dir, summary };
}

const digestOf = (dir, key) => JSON.parse(readFileSync(join(dir, 'cache', 'objects', key.slice(0, 2), key, 'meta.json'), 'utf8')).digest;

const a = build('a');
const b = build('b');
const nodesA = new Map(a.summary.nodes.map((n) => [n.id, n]));
if (a.summary.nodes.length !== b.summary.nodes.length) fail(`node counts differ: ${a.summary.nodes.length} vs ${b.summary.nodes.length}`);
let compared = 0;
for (const nb of b.summary.nodes) {
  const na = nodesA.get(nb.id);
  if (!na) fail(`node ${nb.id} exists only in build b`);
  if (na.key !== nb.key) fail(`node ${nb.id}: key ${na.key.slice(0, 12)} vs ${nb.key.slice(0, 12)}`);
  if (digestOf(a.dir, na.key) !== digestOf(b.dir, nb.key)) fail(`node ${nb.id}: output digests differ`);
  compared++;
}
let reports = 0;
for (const t of readdirSync(join(a.dir, 'reports'))) {
  const fa = join(a.dir, 'reports', t, 'results.json');
  if (!existsSync(fa)) continue;
  const fb = join(b.dir, 'reports', t, 'results.json');
  if (!existsSync(fb) || readFileSync(fa, 'utf8') !== readFileSync(fb, 'utf8')) fail(`reports/${t}/results.json differs`);
  reports++;
}
console.log(`identical: ${compared} node keys and output digests, ${reports} results.json files`);
// The suite's figure test (test/e2e/figures.test.ts) reads these reports instead of building the paper again.
if (process.env.PIPELINE_FIGURES_DIR) {
  cpSync(join(a.dir, 'reports'), process.env.PIPELINE_FIGURES_DIR, { recursive: true });
  console.log(`reports of build a kept in ${process.env.PIPELINE_FIGURES_DIR}`);
}
// The 3-node Slurm test (test/e2e/slurm-nodes.test.ts) compares its paper quick build with these
// keys and digests instead of building the paper locally once more.
if (process.env.PIPELINE_PAPER_QUICK_DIGESTS && target === 'paper' && profile === 'quick') {
  const out = {};
  for (const n of a.summary.nodes) if (n.key && !n.shared) out[n.id] = `${n.key}:${digestOf(a.dir, n.key)}`;
  writeFileSync(process.env.PIPELINE_PAPER_QUICK_DIGESTS, JSON.stringify(out));
  console.log(`keys and digests of build a kept in ${process.env.PIPELINE_PAPER_QUICK_DIGESTS}`);
}
const v = spawnSync(process.execPath, [bin, 'verify', target, '--sample', sample], { cwd: a.dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
process.stdout.write(v.stdout);
if (v.status !== 0) fail(`verify --sample ${sample} failed:\n${v.stdout}${v.stderr}`);
console.log('reproducible');
