// Runs every test/**/*.test.ts with uvu (through tsx), streams its output, and ends with the
// line CI reads: "N passed, N failed". Pass a pattern to run a subset: node test/run.mjs kernels
//
// Two things beyond uvu:
// - Linear-algebra backends. Where the OpenBLAS addon is built (CI), the default backend is
//   `native` and a fresh machine's `ort` would go untested; so the test files marked
//   `@linalg-dependent` run a second time with PIPELINE_LINALG=ort. PIPELINE_TEST_LINALG names the
//   backends to run them on instead (comma-separated, e.g. `ort,js`; `default` = no second pass).
// - Services. Helpers that start a daemon (test/helpers/services.ts: Slurm, nginx, ...) record how
//   to stop it in a folder this script owns; when the tests end — passed, failed, or this script
//   interrupted by SIGINT/SIGTERM — every recorded stop command runs before this script exits.
//   The tests run in a process group of their own, so that processes they spawned (a CLI run a
//   test was waiting for when it was interrupted) are ended too, before the services they used.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const filter = process.argv[2] ?? '';
const pattern = `${filter}.*\\.test\\.ts$`;

const services = mkdtempSync(join(tmpdir(), 'pipeline-test-services-'));
let child = null;
let signal = null;

/** Test files (relative to test/) whose header says their results depend on the linear-algebra backend. */
function linalgDependent() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.ts') && new RegExp(pattern, 'i').test(relative(join(root, 'test'), p)) && readFileSync(p, 'utf8').slice(0, 2000).includes('@linalg-dependent')) out.push(relative(join(root, 'test'), p));
    }
  };
  walk(join(root, 'test'));
  return out.sort();
}

/** The backends of the second pass: PIPELINE_TEST_LINALG, else ort where the addon makes native the default. */
function extraBackends() {
  if (process.env.PIPELINE_LINALG) return [];
  const want = process.env.PIPELINE_TEST_LINALG;
  if (want) return want === 'default' ? [] : want.split(',').map((s) => s.trim()).filter(Boolean);
  return existsSync(join(root, 'build', 'Release', 'linalg.node')) ? ['ort'] : [];
}

/** One uvu process over the files matching `pat`; resolves with its counts. */
function uvu(pat, env, label) {
  return new Promise((resolve) => {
    if (label) process.stdout.write(`\n== ${label} ==\n`);
    child = spawn(process.execPath, ['--import', 'tsx', join(root, 'node_modules/uvu/bin.js'), 'test', pat, '--no-color'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true, // its own process group: see endGroup
      env: { ...process.env, FORCE_COLOR: '0', PIPELINE_TEST_SERVICES: services, ...env },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    const pgid = child.pid;
    child.on('close', async (code) => {
      child = null;
      await endGroup(pgid);
      const plain = out.replace(/\u001b\[[0-9;]*m/g, '');
      const num = (l) => Number((plain.match(new RegExp(`${l}:\\s+(\\d+)`)) ?? [])[1] ?? 0);
      const total = num('Total');
      const passed = num('Passed');
      const skipped = num('Skipped');
      // A process that died (a crash, a signal) before printing its totals failed, whatever it counted.
      const failed = Math.max(total - passed - skipped, code !== 0 && total === passed + skipped ? 1 : 0);
      resolve({ passed, failed, skipped });
    });
  });
}

const groupAlive = (pgid) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};
const signalGroup = (pgid, sig) => {
  try {
    process.kill(-pgid, sig);
  } catch {
    // already gone
  }
};

/** Ends what is left of a test process's group (children of an interrupted test): SIGTERM, then SIGKILL after 5 s. */
async function endGroup(pgid) {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  for (let i = 0; i < 50 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pgid)) {
    process.stdout.write('  processes the tests started ignored SIGTERM for 5 s: SIGKILL\n');
    signalGroup(pgid, 'SIGKILL');
  }
}

/** Runs every recorded stop command, once; says what it stopped. */
function stopServices() {
  let files = [];
  try {
    files = readdirSync(services).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return;
  }
  for (const f of files) {
    const rec = JSON.parse(readFileSync(join(services, f), 'utf8'));
    const r = spawnSync(rec.stop[0], rec.stop.slice(1), { encoding: 'utf8', env: { ...process.env, ...rec.env }, timeout: 60_000 });
    const ok = r.status === 0;
    process.stdout.write(`  ${ok ? 'stopped' : 'could not stop'} ${rec.name} (started by the suite)${ok ? '' : `: ${`${r.stdout ?? ''}${r.stderr ?? ''}${r.error ?? ''}`.trim()}`}\n`);
  }
  rmSync(services, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    // The tests' process group gets it; the end of the test process (child 'close') runs the rest.
    if (signal) return;
    signal = sig;
    process.stdout.write(`\n${sig}: stopping the tests, then the services they started\n`);
    if (child) {
      const pgid = child.pid;
      signalGroup(pgid, sig);
      setTimeout(() => signalGroup(pgid, 'SIGKILL'), 10_000).unref();
    }
  });
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const add = (r) => {
  totals.passed += r.passed;
  totals.failed += r.failed;
  totals.skipped += r.skipped;
};
try {
  add(await uvu(pattern, {}, ''));
  for (const b of extraBackends()) {
    if (signal) break;
    const files = linalgDependent();
    if (files.length === 0) continue;
    const escaped = files.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    add(await uvu(`^(${escaped})$`, { PIPELINE_LINALG: b }, `again with PIPELINE_LINALG=${b}: ${files.join(', ')}`));
  }
} finally {
  stopServices();
}
if (signal) totals.failed = Math.max(totals.failed, 1);
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}\n`);
process.exit(signal ? (signal === 'SIGINT' ? 130 : 143) : totals.failed ? 1 : 0);
