/** Temporary projects for engine and end-to-end tests: configs and toy stages in a temp folder. */
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planCommand, runCommand, type RunSummary } from '../../engine/commands.ts';

export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_DIR = join(PACKAGE_ROOT, '.build');

export function makeProject(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-test-'));
  mkdirSync(join(dir, 'configs'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

export interface RunOpts {
  set?: string[];
  profile?: string;
  force?: boolean;
  jobs?: number;
  maxNodes?: number;
}

export function run(dir: string, target: string, o: RunOpts = {}): Promise<RunSummary> {
  return runCommand(target, { packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir, quiet: true, jobs: o.jobs ?? 2, ...o });
}

export function plan(dir: string, target: string, o: RunOpts = {}): Promise<RunSummary> {
  return planCommand(target, { packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir, ...o });
}

/** How many nodes of each config stage have a status ('ran' by default). */
export function ranPerStage(s: Pick<RunSummary, 'nodes'>, status = 'ran'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of s.nodes) if (n.status === status) out[n.stage] = (out[n.stage] ?? 0) + 1;
  return out;
}

const BIN = join(PACKAGE_ROOT, 'bin', 'pipeline.mjs');

export function cli(dir: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `pipeline run <target> --json ...` through the CLI; fails the test unless it exits 0. */
export function runJson(dir: string, target: string, ...args: string[]): RunSummary {
  const r = cli(dir, ['run', target, '--json', ...args]);
  if (r.code !== 0) throw new Error(`pipeline run ${target} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as RunSummary;
}

export function cliAsync(dir: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', ...env } });
}

/** The CLI as a child process, awaited: exit code, stdout and stderr. */
export function cliRun(dir: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = cliAsync(dir, args, env);
    let out = '';
    let err = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (err += d));
    c.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** Polls a condition every 25 ms; throws after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what = 'a condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A config of n source nodes each feeding a `slow` node that waits `ms`, optionally summed by one
 * `total` node: the shape the crash, signal, lock and cluster stories run on.
 */
export function slowConfig(n: number, ms: number, total = false): string {
  const ns = Array.from({ length: n }, (_, i) => i + 1).join(', ');
  return `sweep:
  n: [${ns}]
stages:
  source:
    stage: source
    params: { n: "\${n}" }
  wait:
    stage: slow
    inputs: { x: source }
    params: { ms: ${ms} }
${total ? '  total:\n    stage: sum\n    inputs: { xs: [wait] }\n' : ''}`;
}

/** Toy stages that know nothing of neural collapse: the engine is tested on them. */
export const TOY_STAGES: Record<string, string> = {
  'stages/source.ts': `export default {
  description: 'emits n * 10 + seed',
  params: { n: { type: 'integer', doc: 'a number' }, seed: { type: 'integer', default: 0, doc: 'seed' } },
  run({ params }) { return { 'value.json': { v: params.n * 10 + params.seed } }; },
};
`,
  'stages/scale.ts': `export default {
  description: 'multiplies its input by factor',
  params: { factor: { type: 'number', doc: 'factor', min: 0 } },
  inputs: { x: { doc: 'a source node' } },
  run({ params, inputs }) { return { 'value.json': { v: inputs.x.json('value.json').v * params.factor } }; },
};
`,
  'stages/sum.ts': `export default {
  description: 'adds its inputs',
  params: {},
  inputs: { xs: { doc: 'nodes to add', gather: true } },
  run({ inputs }) { return { 'value.json': { v: inputs.xs.reduce((s, h) => s + h.json('value.json').v, 0), n: inputs.xs.length } }; },
};
`,
  'stages/slow.ts': `export default {
  description: 'waits ms milliseconds, then emits',
  params: { ms: { type: 'integer', doc: 'delay' } },
  inputs: { x: { doc: 'input', optional: true } },
  async run({ params }) { await new Promise((r) => setTimeout(r, params.ms)); return { 'value.json': { waited: params.ms } }; },
};
`,
  'stages/noisy.ts': `export default {
  description: 'not a pure function: verify must catch it',
  params: {},
  run() { return { 'value.json': { v: Math.random() } }; },
};
`,
  'stages/boom.ts': `export default {
  description: 'fails when fail is true',
  params: { fail: { type: 'boolean', default: true, doc: 'fail?' } },
  inputs: { x: { doc: 'input' } },
  run({ params }) { if (params.fail) throw new Error('boom: deliberate failure'); return { 'value.json': { ok: true } }; },
};
`,
};

export const TOY_CONFIG = `title: toy
vars:
  factor: 2
sweep:
  n: [1, 2, 3]
  repeat: 2
stages:
  source:
    stage: source
    params:
      n: \${n}
      seed: \${repeat}
  scale:
    stage: scale
    inputs:
      x: source
    params:
      factor: \${factor}
  total:
    stage: sum
    inputs:
      xs: [scale]
`;
