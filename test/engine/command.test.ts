/**
 * Stories of the `command` stage, counted in executions: a Python script between TypeScript stages,
 * what reruns after which edit (the script, a helper it imports but nothing lists, a comment, the
 * interpreter, a param), and the bad inputs that must fail in one line with nothing cached.
 * Uses /usr/bin/python3 (Debian always has it), never the caller's python3.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, makeProject, plan, ranPerStage, run, TOY_STAGES } from '../helpers/project.ts';

const PY = '/usr/bin/python3';

const SCRIPT = `import json, os, sys
from helper import scale
params = json.load(open(os.environ["PIPELINE_PARAMS"]))
x = json.load(open(os.path.join(os.environ["PIPELINE_INPUT_X"], "value.json")))["v"]
out = sys.argv[sys.argv.index("--out") + 1]
print("::progress 0.5 halfway")
json.dump({"v": scale(x, params["factor"])}, open(os.path.join(out, "value.json"), "w"))
`;
const HELPER = `def scale(x, f):
    return x * f
`;

const config = (py = PY) => `sweep: { n: [1, 2], factor: [2, 3] }
stages:
  source:
    stage: source
    params: { n: "\${n}" }
  cmd:
    stage: command
    inputs: { x: source }
    params: { factor: "\${factor}" }
    command: [${py}, exp/scale.py, --factor, "\${factor}", --out, "\${out}"]
    outputs: [value.json]
  total:
    stage: sum
    inputs: { xs: { from: cmd, gather: true } }
`;

const project = () => makeProject({ ...TOY_STAGES, 'configs/t.yml': config(), 'exp/scale.py': SCRIPT, 'exp/helper.py': HELPER });

const total = async (dir: string): Promise<number> => {
  const { showCommand } = await import('../../engine/commands.ts');
  const { PACKAGE_ROOT, BUILD_DIR } = await import('../helpers/project.ts');
  const meta = (await showCommand('total', { packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir })) as { dir: string };
  return JSON.parse(readFileSync(join(meta.dir, 'value.json'), 'utf8')).v as number;
};

test('a Python command between TypeScript stages: runs once, its JSON feeds the next stage', async () => {
  const dir = project();
  const first = await run(dir, 't');
  assert.equal(ranPerStage(first), { source: 2, cmd: 4, total: 1 });
  // (10 + 20) * (2 + 3)
  assert.is(await total(dir), 150);
  const again = await run(dir, 't');
  assert.equal(ranPerStage(again), {});
});

test('edit the script: its nodes and dependants rerun; a comment-only edit reruns nothing', async () => {
  const dir = project();
  await run(dir, 't');
  appendFileSync(join(dir, 'exp/scale.py'), '# a comment\n\n');
  assert.equal(ranPerStage(await run(dir, 't')), {});
  appendFileSync(join(dir, 'exp/scale.py'), 'print("more")\n');
  const p = await plan(dir, 't');
  assert.ok(p.nodes.find((n) => n.stage === 'cmd')!.changed!.includes('code: exp/scale.py'));
  assert.equal(ranPerStage(await run(dir, 't')), { cmd: 4 });
});

test('a helper module the script imports but nothing lists: a change reruns it and plan names it', async () => {
  const dir = project();
  await run(dir, 't');
  appendFileSync(join(dir, 'exp/helper.py'), '    # only a comment\n');
  assert.equal(ranPerStage(await run(dir, 't')), {});
  writeFileSync(join(dir, 'exp/helper.py'), HELPER.replace('x * f', 'x * f + 1'));
  const p = await plan(dir, 't');
  assert.equal(p.nodes.find((n) => n.stage === 'cmd')!.changed, ['deps: exp/helper.py']);
  const s = await run(dir, 't');
  assert.equal(ranPerStage(s), { cmd: 4, total: 1 });
  assert.is(await total(dir), 154);
  assert.equal(ranPerStage(await run(dir, 't')), {});
});

test('another interpreter: every command node reruns and plan names the interpreter', async () => {
  const dir = project();
  await run(dir, 't');
  const other = join(mkdtempSync(join(tmpdir(), 'pipeline-py-')), 'python3');
  copyFileSync(`${PY}`, other);
  spawnSync('chmod', ['+x', other]);
  writeFileSync(join(dir, 'configs/t.yml'), config(other));
  const p = await plan(dir, 't');
  const changed = p.nodes.find((n) => n.stage === 'cmd')!.changed!;
  assert.ok(changed.some((c) => c.startsWith('env.interpreter:')), changed.join('; '));
  const s = await run(dir, 't');
  // Same numbers from another interpreter: the sum's input digests are unchanged (early cutoff).
  assert.equal(ranPerStage(s), { cmd: 4 });
});

test('--set a param: only the sweep cells that use it rerun', async () => {
  const dir = project();
  await run(dir, 't');
  const s = await run(dir, 't', { set: ['sweep.factor=[2, 5]'] });
  assert.equal(ranPerStage(s), { cmd: 2, total: 1 });
});

test('plan, show and ls never run a configured program', async () => {
  const marker = '/tmp/pipeline-command-ran-marker';
  const dir = makeProject({
    'configs/t.yml': `stages:\n  a:\n    stage: command\n    command: [${PY}, exp/a.py]\n    outputs: [a.json]\n`,
    'exp/a.py': `open(${JSON.stringify(marker)}, "w").write("ran")\n`,
  });
  spawnSync('rm', ['-f', marker]);
  const p = await plan(dir, 't');
  assert.is(p.nodes[0].status, 'would-run');
  assert.ok(!existsSync(marker));
});

const one = (body: string, files: Record<string, string> = {}) => makeProject({ 'configs/b.yml': `stages:\n  a:\n    stage: command\n${body}`, ...files });

const entries = (dir: string): number => (existsSync(join(dir, 'cache', 'objects')) ? readdirSync(join(dir, 'cache', 'objects')).length : 0);

for (const [name, body, files, expect] of [
  ['a program that does not exist', '    command: [no-such-program-xyz]\n    outputs: [x.json]\n', {}, /b\.yml:4.*program "no-such-program-xyz" is not on PATH/],
  ['a program that is not executable', '    command: [./run.sh]\n    outputs: [x.json]\n', { 'run.sh': '#!/bin/sh\n' }, /b\.yml:4.*not executable/],
  ['an output named ../x', "    command: [true]\n    outputs: ['../x']\n", {}, /b\.yml:5.*leaves the output folder/],
  ['an output named a/../../b', "    command: [true]\n    outputs: ['a/../../b']\n", {}, /b\.yml:5.*leaves the output folder/],
  ['a deps glob matching nothing', '    command: [true]\n    deps: [lib/*.py]\n    outputs: [x.json]\n', {}, /b\.yml:5.*deps pattern "lib\/\*\.py" matches no file/],
  ['a reference to an unknown param', '    params: { a: 1 }\n    command: [echo, "${b}"]\n    outputs: [x.json]\n', {}, /b\.yml:5.*\$\{b\} names no param of this stage \(params: a/],
] as const) {
  test(`bad input, exit 2 before anything runs: ${name}`, () => {
    const dir = one(body, files);
    const r = cli(dir, ['run', 'b']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, expect);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.is(entries(dir), 0);
  });
}

const failing = (body: string, files: Record<string, string> = {}) => {
  const dir = one(body, files);
  const t0 = Date.now();
  const r = cli(dir, ['run', 'b']);
  return { dir, r, seconds: (Date.now() - t0) / 1000, line: r.stderr.split('\n').find((l) => l.startsWith('failed a')) ?? '' };
};

test('a declared output not written: the failure lists what the program wrote; nothing cached', () => {
  const { dir, r, line } = failing('    command: [sh, -c, "echo 1 > $PIPELINE_OUT/other.json"]\n    outputs: [x.json]\n');
  assert.is(r.code, 1);
  assert.match(line, /did not write declared output "x\.json".*\(it wrote: other\.json\)/);
  assert.is(entries(dir), 0);
});

test('exit 3 with non-UTF-8 stderr: one line with the exit code, the stderr tail and the log path', () => {
  const { dir, r, line } = failing(`    shell: "echo first >&2; printf 'bad \\\\377\\\\376 bytes\\\\n' >&2; exit 3"\n    outputs: [x.json]\n`);
  assert.is(r.code, 1);
  assert.match(line, /exited with 3/);
  assert.match(line, /stderr: first \| bad .* bytes/);
  const log = /\(log: (.*?)\)$/.exec(line)![1];
  assert.ok(readFileSync(log).includes(Buffer.from([0xff, 0xfe])));
  assert.is(entries(dir), 0);
});

test('a write into a staged input fails naming the input; copy_inputs makes it writable', () => {
  const files = { ...TOY_STAGES };
  const body = (extra: string) =>
    `stages:\n  s:\n    stage: source\n    params: { n: 1 }\n  a:\n    stage: command\n    inputs: { x: s }\n    command: [sh, -c, "echo hacked > $PIPELINE_INPUT_X/value.json; echo 1 > $PIPELINE_OUT/x.json"]\n    outputs: [x.json]\n${extra}`;
  const dir = makeProject({ ...files, 'configs/b.yml': body('') });
  const r = cli(dir, ['run', 'b']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /staged input "x"/);
  writeFileSync(join(dir, 'configs/b.yml'), body('    copy_inputs: [x]\n'));
  const ok = cli(dir, ['run', 'b']);
  assert.is(ok.code, 0, ok.stderr);
  // The source's entry was never touched: nothing reran but the command.
  assert.match(ok.stderr + ok.stdout, /1 ran, 1 cached/);
});

test('a program leaving a background child: the child is ended with the node', () => {
  const tag = `pipeline-bg-${process.pid}`;
  const { r } = failing(`    command: [bash, -c, "(exec -a ${tag} sleep 600) & echo 1 > $PIPELINE_OUT/x.json"]\n    outputs: [x.json]\n`);
  assert.is(r.code, 0, r.stderr);
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
  assert.not.ok(ps.includes(tag), 'the background child is still alive');
});

test('a sleep 600 stage with a 2 s timeout fails within 3 s naming the timeout; no orphan', () => {
  const tag = `pipeline-timeout-${process.pid}`;
  const { r, line, seconds } = failing(`    command: [bash, -c, "exec -a ${tag} sleep 600"]\n    timeout: 2\n    outputs: [x.json]\n`);
  assert.is(r.code, 1);
  assert.match(line, /timed out after 2 s/);
  assert.ok(seconds < 3.5, `took ${seconds} s`);
  assert.not.ok(spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout.includes(tag));
});

test('1 GB on stdout: the log is capped, the node succeeds', () => {
  const dir = one('    shell: "head -c 1000000000 /dev/zero; echo 1 > $PIPELINE_OUT/x.json"\n    outputs: [x.json]\n');
  const r = cli(dir, ['run', 'b']);
  assert.is(r.code, 0, r.stderr);
  const objects = join(dir, 'cache', 'objects');
  const shard = readdirSync(objects)[0];
  const entry = join(objects, shard, readdirSync(join(objects, shard))[0]);
  const size = readFileSync(join(entry, '.stdout.log')).length;
  assert.ok(size < 5 << 20, `stdout log is ${size} bytes`);
});

test('a kill -9 of the driver while a command runs: its group ends (even ignoring SIGTERM), no half entry, the resume completes', async () => {
  const tag = `pipeline-kill9-${process.pid}`;
  // The first attempt hangs in a process that ignores SIGTERM; the resume finds the marker and finishes.
  const dir = one(`    command: [bash, -c, "trap '' TERM; if [ ! -e $PIPELINE_ROOT/once ]; then touch $PIPELINE_ROOT/once; (exec -a ${tag} sleep 600); fi; echo 1 > $PIPELINE_OUT/x.json"]\n    outputs: [x.json]\n`);
  const { cliAsync } = await import('../helpers/project.ts');
  const child = cliAsync(dir, ['run', 'b']);
  const alive = () => spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout.split('\n').some((l) => l.startsWith(tag));
  const deadline = Date.now() + 20_000;
  while (!alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(alive(), 'the command never started');
  child.kill('SIGKILL');
  // The watchdog: SIGTERM at once (ignored here), SIGKILL 2 s later.
  await new Promise((r) => setTimeout(r, 3000));
  assert.not.ok(alive(), 'the command outlived the killed driver');
  assert.is(entries(dir), 0);
  const again = cli(dir, ['run', 'b']);
  assert.is(again.code, 0, again.stderr);
  assert.is(entries(dir), 1);
});

test('pipeline logs <node> shows a command node\'s stdout and stderr', () => {
  const dir = one('    shell: "echo to-out; echo to-err >&2; echo 1 > $PIPELINE_OUT/x.json"\n    outputs: [x.json]\n');
  assert.is(cli(dir, ['run', 'b']).code, 0);
  const r = cli(dir, ['logs', 'a', '--target', 'b']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /to-out/);
  assert.match(r.stdout, /to-err/);
});

test('verify --sample re-executes a deterministic command and skips a deterministic: false one, saying so', async () => {
  const dir = makeProject({
    'configs/v.yml': `stages:\n  same:\n    stage: command\n    command: [${PY}, exp/same.py]\n    outputs: [a.json]\n  noisy:\n    stage: command\n    shell: "date +%N > $PIPELINE_OUT/b.txt"\n    outputs: [b.txt]\n    deterministic: false\n`,
    'exp/same.py': 'import os\nopen(os.path.join(os.environ["PIPELINE_OUT"], "a.json"), "w").write("[1]")\n',
  });
  await run(dir, 'v');
  const { verifyCommand } = await import('../../engine/commands.ts');
  const { PACKAGE_ROOT, BUILD_DIR } = await import('../helpers/project.ts');
  const r = await verifyCommand({ packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir, target: 'v', sample: 1 });
  assert.is(r.reexecuted, 1);
  assert.equal(r.differing, []);
  assert.equal(r.skipped, [{ id: 'noisy', reason: 'deterministic: false (a command that cannot be bit-reproducible)' }]);
});

test.run();
