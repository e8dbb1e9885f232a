// The bad-input matrix (`npm run soak:inputs`): each case runs the CLI in a fresh temp project and
// must exit 2 with one line (<= 400 characters) on stderr that names a location (file:line or the
// option), no stack, no quoted file contents, within 2 s wall and 300 MB peak RSS. Prints a table and
// "N passed, N failed"; exits 1 if any failed. Filter: node test/soak/bad-inputs.mjs <substring>
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import allCases from './bad-input-cases.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'pipeline.mjs');
const MAX_WALL_S = 2;
const MAX_RSS_MB = 300;
/** A one-line message a person reads: longer means something (a value, a file) was pasted in. */
const MAX_MESSAGE = 400;
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Writes a case's files: project files under <root>/p, `../x` beside it, links as given. */
function makeProject(c) {
  const root = mkdtempSync(join(tmpdir(), 'pipeline-bad-'));
  const dir = join(root, 'p');
  mkdirSync(join(dir, 'configs'), { recursive: true });
  for (const [name, text] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  for (const [name, target] of Object.entries(c.links ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    symlinkSync(target, join(dir, name));
  }
  return { root, dir };
}

/** Runs the CLI once; wall time and peak RSS from /usr/bin/time -v, else from the clock and the child's own report. */
export function runCase(c, maxWallS = MAX_WALL_S) {
  const { root, dir } = makeProject(c);
  const env = { ...process.env, CI: 'true', PIPELINE_CACHE_DIR: join(dir, 'cache'), ...(c.env ?? {}) };
  delete env.PIPELINE_MAX_NODES;
  Object.assign(env, c.env ?? {});
  const timeFile = join(root, 'time.txt');
  const t0 = performance.now();
  const r = TIME
    ? spawnSync(TIME, ['-v', '-o', timeFile, process.execPath, BIN, ...c.args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 24 })
    : spawnSync(process.execPath, [BIN, ...c.args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 24 });
  let wall = (performance.now() - t0) / 1000;
  let rssMb = NaN;
  if (TIME && existsSync(timeFile)) {
    const t = readFileSync(timeFile, 'utf8');
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(t);
    const el = /Elapsed \(wall clock\) time[^:]*: (?:(\d+):)?(\d+):([\d.]+)/.exec(t);
    if (rss) rssMb = Number(rss[1]) / 1024;
    if (el) wall = Number(el[1] ?? 0) * 3600 + Number(el[2]) * 60 + Number(el[3]);
  }
  const cacheTouched = existsSync(join(dir, 'cache', 'objects'));
  rmSync(root, { recursive: true, force: true });
  const stderr = (r.stderr ?? '').replace(/\s*Command exited with non-zero status \d+\s*$/, '').trimEnd();
  const lines = stderr.split('\n');
  const problems = [];
  if (r.status !== 2) problems.push(`exit ${r.status ?? r.signal}`);
  if (lines.length !== 1) problems.push(`${lines.length} lines on stderr`);
  if (!lines[0].startsWith('error: ')) problems.push('no "error:" line');
  if (lines[0].length > MAX_MESSAGE) problems.push(`a message of ${lines[0].length} characters`);
  if (/\n\s+at /.test(stderr) || /\bat .*\.(m?js|ts):\d+/.test(stderr)) problems.push('a stack trace');
  if (!c.where.test(lines[0])) problems.push(`no location matching ${c.where}`);
  if (c.says && !c.says.test(lines[0])) problems.push(`does not say ${c.says}`);
  if (c.secret && stderr.includes(c.secret)) problems.push('echoes file contents');
  if (cacheTouched) problems.push('wrote to the cache');
  if (wall > maxWallS) problems.push(`${wall.toFixed(2)} s > ${maxWallS} s`);
  if (rssMb > MAX_RSS_MB) problems.push(`${rssMb.toFixed(0)} MB > ${MAX_RSS_MB} MB`);
  return { name: c.name, code: r.status, wall, rssMb, message: lines[0], problems };
}

async function main() {
  const filter = process.argv[2];
  const cases = filter ? allCases.filter((c) => c.name.includes(filter)) : allCases;
  // Bundles are built on first use; build them before timing anything.
  spawnSync(process.execPath, [BIN, 'ls'], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, CI: 'true' } });
  const rows = [];
  for (const c of cases) {
    const r = runCase(c);
    rows.push(r);
    const ok = r.problems.length === 0;
    process.stdout.write(
      `${String(rows.length).padStart(3)} ${ok ? 'ok  ' : 'FAIL'} exit ${String(r.code).padEnd(4)} ${r.wall.toFixed(2).padStart(5)} s ${(Number.isNaN(r.rssMb) ? '   ?' : r.rssMb.toFixed(0).padStart(4))} MB  ${c.name.padEnd(46).slice(0, 46)} ${ok ? r.message.slice(0, 110) : r.problems.join('; ')}\n`,
    );
  }
  const failed = rows.filter((r) => r.problems.length);
  const maxWall = Math.max(...rows.map((r) => r.wall));
  const maxRss = Math.max(...rows.map((r) => r.rssMb).filter((x) => !Number.isNaN(x)));
  process.stdout.write(`\n${rows.length} cases; exit 2: ${rows.filter((r) => r.code === 2).length}; max wall ${maxWall.toFixed(2)} s; max RSS ${Number.isFinite(maxRss) ? `${maxRss.toFixed(0)} MB` : 'not measured'}\n`);
  for (const f of failed) process.stdout.write(`FAILED ${f.name}: ${f.problems.join('; ')}\n  ${f.message}\n`);
  process.stdout.write(`${rows.length - failed.length} passed, ${failed.length} failed\n`);
  process.exit(failed.length ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
