/**
 * The CLI always ends: on SIGINT/SIGTERM (130/143, within a fraction of a second, no half entry),
 * when the npm process that started it goes away (npx), and after an error outside any node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProject, PACKAGE_ROOT, slowConfig, TOY_STAGES, waitFor } from '../helpers/project.ts';

const BIN = join(PACKAGE_ROOT, 'bin', 'pipeline.mjs');

/** A stage that, after 300 ms, puts a file where the cache's staging folder is. */
const SABOTAGE = `import { rmSync, writeFileSync } from 'node:fs';
export default {
  description: 'replaces cache/staging by a file',
  params: { n: { type: 'integer', doc: 'n' } },
  async run() {
    await new Promise((r) => setTimeout(r, 300));
    rmSync('cache/staging', { recursive: true, force: true });
    writeFileSync('cache/staging', 'not a folder');
    return { 'value.json': {} };
  },
};
`;

const entries = (dir: string) => {
  const root = join(dir, 'cache', 'objects');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)).map((k) => join(root, shard, k)));
};

function exited(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${ms} ms`));
    }, ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Two nodes being written: staging/<owner>/<key>.<n> folders. */
const running = (dir: string) => {
  const staging = join(dir, 'cache', 'staging');
  if (!existsSync(staging)) return false;
  return readdirSync(staging).reduce((n, owner) => n + readdirSync(join(staging, owner)).length, 0) >= 2;
};

for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${signal} mid-node: exit ${code} at once, the finished nodes committed whole, nothing half`, async () => {
    const dir = makeProject({ ...TOY_STAGES, 'configs/slow.yml': slowConfig(3, 20000) });
    const child = spawn(process.execPath, [BIN, 'run', 'slow'], { cwd: dir, stdio: 'ignore', env: { ...process.env, CI: 'true' } });
    await waitFor(() => running(dir) && entries(dir).length === 3, 20_000);
    const t0 = performance.now();
    child.kill(signal);
    const r = await exited(child, 5000);
    const ms = performance.now() - t0;
    assert.is(r.code, code);
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    for (const e of entries(dir)) assert.ok(existsSync(join(e, 'meta.json')), `${e} has no meta.json`);
    assert.is(entries(dir).length, 3);
  });
}

test('the process that started the CLI (npx) is killed: the CLI ends as on SIGTERM', async () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/slow.yml': slowConfig(3, 20000) });
  // Stands in for npm exec: starts the CLI with npm's variables, prints its pid, and is then killed.
  const starter = `const c = require('node:child_process').spawn(process.execPath, ${JSON.stringify([BIN, 'run', 'slow'])}, { stdio: 'ignore', env: { ...process.env, CI: 'true', npm_lifecycle_event: 'npx' } });
console.log(c.pid); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', starter], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (d) => resolve(String(d)))));
  try {
    await waitFor(() => running(dir), 20_000);
  } finally {
    // Also when the wait fails: a live stand-in would keep the test runner from ending.
    parent.kill('SIGKILL');
  }
  const t0 = performance.now();
  // The CLI is no child of ours: poll until it is gone (or a zombie of whoever adopted it).
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return /State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return true;
    }
  }, 5000);
  assert.ok(performance.now() - t0 < 2000);
});

test('an error outside any node (the staging folder became a file) ends the CLI while other nodes run', async () => {
  const dir = makeProject({
    ...TOY_STAGES,
    'stages/sabotage.ts': SABOTAGE,
    'configs/s.yml': `stages:
  long:
    stage: slow
    params: { ms: 20000 }
  sab:
    stage: sabotage
    params: { n: 1 }
  later:
    stage: slow
    params: { ms: 10 }
`,
  });
  const child = spawn(process.execPath, [BIN, 'run', 's', '--jobs', '2'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const r = await exited(child, 15_000);
  assert.ok(r.code !== 0 && r.code !== null, `exit ${r.code}`);
  assert.match(stderr, 'ENOTDIR');
});

test.run();
