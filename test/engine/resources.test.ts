/**
 * Per-stage resources (engine/config/resources.ts): stories of how many nodes run at once on the local
 * pool when stages ask for threads and GPUs, counted from the times each node ran; keys that do
 * not move when resources do; located errors for bad values.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { showCommand } from '../../engine/commands.ts';
import { formatError, PipelineError } from '../../engine/errors.ts';
import { localGpuDevices } from '../../engine/executors/gpus.ts';
import { memMegabytes, mergeResources, timeSeconds } from '../../engine/config/resources.ts';
import { SlotGate } from '../../engine/run/slot-gate.ts';
import { BUILD_DIR, makeProject, PACKAGE_ROOT, plan, ranPerStage, run, TOY_CONFIG, TOY_STAGES } from '../helpers/project.ts';

/** Sleeps, and says when it ran and which GPUs its environment gave it. */
const SPAN_STAGE = `export default {
  description: 'waits ms, records when it ran and its CUDA_VISIBLE_DEVICES',
  params: { i: { type: 'integer', doc: 'which copy' }, ms: { type: 'integer', default: 400, doc: 'delay' } },
  async run({ params }) {
    const start = Date.now();
    await new Promise((r) => setTimeout(r, params.ms));
    return { 'span.json': { start, end: Date.now(), gpus: process.env.CUDA_VISIBLE_DEVICES ?? null } };
  },
};
`;

interface Span {
  id: string;
  stage: string;
  start: number;
  end: number;
  gpus: string | null;
}

/** A config of one or more span stages, each swept over its own axis of n nodes. */
function spanConfig(stages: { name: string; n: number; resources?: string }[]): string {
  // Each stage's own values of i: two stages with equal params would share their nodes.
  const sweep = stages.map((s, k) => `  ${s.name}_i: [${Array.from({ length: s.n }, (_, i) => 100 * k + i).join(', ')}]`).join('\n');
  const body = stages
    .map((s) => `  ${s.name}:\n    stage: span\n    params: { i: "\${${s.name}_i}" }\n${s.resources ? `    resources: ${s.resources}\n` : ''}`)
    .join('');
  return `title: spans\nsweep:\n${sweep}\nstages:\n${body}`;
}

async function spans(dir: string, nodes: { id: string; stage: string }[]): Promise<Span[]> {
  return Promise.all(
    nodes.map(async (n) => {
      const meta = (await showCommand(n.id, { packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir })) as { dir: string };
      return { id: n.id, stage: n.stage, ...JSON.parse(readFileSync(join(meta.dir, 'span.json'), 'utf8')) } as Span;
    }),
  );
}

/** The most slots in use at once, each span weighing what its stage asks. */
function peak(all: Span[], weight: (s: Span) => number = () => 1): number {
  let best = 0;
  for (const s of all) best = Math.max(best, all.filter((o) => o.start <= s.start && s.start < o.end).reduce((a, o) => a + weight(o), 0));
  return best;
}

async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(before)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

test('threads: 2 with --jobs 4 -> two nodes at a time, never three; without resources four', async () => {
  const dir = makeProject({ 'stages/span.ts': SPAN_STAGE, 'configs/spans.yml': spanConfig([{ name: 'wide', n: 6, resources: '{ threads: 2 }' }]) });
  const s = await run(dir, 'spans', { jobs: 4 });
  assert.equal(ranPerStage(s), { wide: 6 });
  assert.is(peak(await spans(dir, s.nodes)), 2);
  const plain = makeProject({ 'stages/span.ts': SPAN_STAGE, 'configs/spans.yml': spanConfig([{ name: 'narrow', n: 6 }]) });
  const p = await run(plain, 'spans', { jobs: 4 });
  assert.is(peak(await spans(plain, p.nodes)), 4);
});

test('mixed widths share the slots: threads 2 and threads 1 nodes never hold more than --jobs 3', async () => {
  const dir = makeProject({
    'stages/span.ts': SPAN_STAGE,
    'configs/spans.yml': spanConfig([
      { name: 'wide', n: 4, resources: '{ threads: 2 }' },
      { name: 'narrow', n: 4 },
    ]),
  });
  const s = await run(dir, 'spans', { jobs: 3 });
  assert.equal(ranPerStage(s), { wide: 4, narrow: 4 });
  const all = await spans(dir, s.nodes);
  const w = peak(all, (x) => (x.stage === 'wide' ? 2 : 1));
  assert.ok(w <= 3, `at most 3 slots in use, measured ${w}`);
  assert.ok(w >= 2, `the pool was used (${w})`);
});

test('a node asking more threads than --jobs runs alone, and the run says so before it starts', async () => {
  const dir = makeProject({ 'stages/span.ts': SPAN_STAGE, 'configs/spans.yml': spanConfig([{ name: 'huge', n: 3, resources: '{ threads: 8 }' }]) });
  const writes: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
  let s;
  try {
    s = await run(dir, 'spans', { jobs: 2, quiet: false } as never);
  } finally {
    process.stderr.write = orig;
  }
  assert.equal(ranPerStage(s), { huge: 3 });
  assert.is(peak(await spans(dir, s.nodes)), 1);
  assert.ok(
    writes.some((w) => w.includes('stage "huge" asks threads: 8, more than --jobs 2: its nodes run alone')),
    writes.join(''),
  );
});

test('gpus: 1 -> each running node has its own CUDA_VISIBLE_DEVICES from PIPELINE_GPUS; never more nodes than devices', async () => {
  const dir = makeProject({ 'stages/span.ts': SPAN_STAGE, 'configs/spans.yml': spanConfig([{ name: 'gpu', n: 6, resources: '{ gpus: 1 }' }]) });
  const s = await withEnv({ PIPELINE_GPUS: '3,5', CUDA_VISIBLE_DEVICES: undefined }, () => run(dir, 'spans', { jobs: 4 }));
  assert.equal(ranPerStage(s), { gpu: 6 });
  const all = await spans(dir, s.nodes);
  assert.is(peak(all), 2);
  for (const x of all) {
    assert.ok(x.gpus === '3' || x.gpus === '5', `${x.id} got ${x.gpus}`);
    for (const o of all) if (o !== x && o.start <= x.start && x.start < o.end) assert.is.not(o.gpus, x.gpus, `${o.id} and ${x.id} overlapped on one device`);
  }
});

test('gpus: 2 with three devices -> one node at a time, each given two devices; a stage without gpus sees none', async () => {
  const dir = makeProject({
    'stages/span.ts': SPAN_STAGE,
    'configs/spans.yml': spanConfig([
      { name: 'gpu', n: 3, resources: '{ gpus: 2 }' },
      { name: 'cpu', n: 2 },
    ]),
  });
  const s = await withEnv({ PIPELINE_GPUS: '3', CUDA_VISIBLE_DEVICES: undefined }, () => run(dir, 'spans', { jobs: 4 }));
  const all = await spans(dir, s.nodes);
  const gpu = all.filter((x) => x.stage === 'gpu');
  assert.is(peak(gpu), 1);
  for (const x of gpu) assert.is(x.gpus?.split(',').length, 2, `${x.id}: ${x.gpus}`);
  for (const x of all.filter((y) => y.stage === 'cpu')) assert.is(x.gpus, null);
});

test('gpus on a machine without GPUs: exit 2 at plan time naming the config line, nothing run or cached', async () => {
  const dir = makeProject({ 'stages/span.ts': SPAN_STAGE, 'configs/spans.yml': spanConfig([{ name: 'gpu', n: 2, resources: '{ gpus: 1 }' }]) });
  const err = await withEnv({ PIPELINE_GPUS: 'none' }, () => run(dir, 'spans').then(() => undefined, (e: unknown) => e));
  assert.instance(err, PipelineError);
  const text = formatError(err);
  assert.match(text, /configs\/spans\.yml:\d+: stages\.gpu\.resources\.gpus: stage "gpu" asks for 1 GPU a node, and the local executor has none/);
  assert.is((err as PipelineError).exitCode, 2);
  const p = await plan(dir, 'spans');
  assert.is(p.nodes.filter((n) => n.status === 'would-run').length, 2, 'nothing was cached');
});

test('resources are in no key: adding, changing or removing them reruns nothing', async () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG });
  const first = await run(dir, 'toy');
  const keys = Object.fromEntries(first.nodes.map((n) => [n.id, n.key]));
  for (const resources of ['{ threads: 2 }', '{ threads: 1, mem: 4G, time: 30m }', '{ threads: 3, mem: 512M, time: "1:00:00", gpus: 0 }']) {
    const cfg = TOY_CONFIG.replace('  scale:\n    stage: scale\n', `  scale:\n    stage: scale\n    resources: ${resources}\n`).replace('  total:\n    stage: sum\n', `  total:\n    stage: sum\n    resources: ${resources}\n`);
    writeFileSync(join(dir, 'configs/toy.yml'), cfg);
    const p = await plan(dir, 'toy');
    for (const n of p.nodes) {
      assert.is(n.status, 'cached', `${n.id} with ${resources}`);
      assert.is(n.key, keys[n.id], `${n.id} with ${resources}`);
    }
    assert.equal(ranPerStage(await run(dir, 'toy', { jobs: 4 })), {}, resources);
  }
});

test('a node shared by two stages needs the most either asks', () => {
  assert.equal(mergeResources({ threads: 2, mem: '1G' }, { threads: 1, mem: '2048M', time: '5m' }), { threads: 2, mem: '2048M', time: '5m' });
  assert.equal(mergeResources(undefined, { gpus: 1 }), { gpus: 1 });
});

test('sizes and durations: the forms Slurm reads', () => {
  assert.is(memMegabytes('4G'), 4096);
  assert.is(memMegabytes('512M'), 512);
  assert.is(memMegabytes('100'), 100);
  assert.is(memMegabytes('1.5GB'), 1536);
  assert.is(memMegabytes('lots'), undefined);
  assert.is(timeSeconds('30m'), 1800);
  assert.is(timeSeconds('1h30m'), 5400);
  assert.is(timeSeconds('90s'), 90);
  assert.is(timeSeconds('1d'), 86400);
  assert.is(timeSeconds('01:30:00'), 5400);
  assert.is(timeSeconds('10:30'), 630);
  assert.is(timeSeconds('45'), 2700);
  assert.is(timeSeconds('1:75:00'), undefined);
  assert.is(timeSeconds('soon'), undefined);
});

test('bad resources: one located error each, before anything runs', async () => {
  const cases: [string, RegExp][] = [
    ['{ threads: 0 }', /stages\.s\.resources\.threads: expected a whole number >= 1, got 0/],
    ['{ threads: 1.5 }', /stages\.s\.resources\.threads: expected a whole number >= 1, got 1\.5/],
    ['{ gpus: -1 }', /stages\.s\.resources\.gpus: expected a whole number >= 0, got -1/],
    ['{ mem: lots }', /stages\.s\.resources\.mem: expected a size such as 4G/],
    ['{ time: soon }', /stages\.s\.resources\.time: expected a duration such as 30m/],
    ['{ cpus: 2 }', /stages\.s\.resources\.cpus: unknown resource; expected threads, mem, time, gpus/],
    ['4', /stages\.s\.resources: expected a mapping/],
  ];
  for (const [resources, want] of cases) {
    const dir = makeProject({ 'stages/span.ts': SPAN_STAGE, 'configs/bad.yml': `title: bad\nstages:\n  s:\n    stage: span\n    params: { i: 0 }\n    resources: ${resources}\n` });
    const err = await plan(dir, 'bad').then(() => undefined, (e: unknown) => e);
    assert.instance(err, PipelineError, resources);
    assert.match(formatError(err), /^configs\/bad\.yml:6: /, resources);
    assert.match(formatError(err), want);
  }
});

test('the device list: PIPELINE_GPUS (a count or ids), else CUDA_VISIBLE_DEVICES, else /dev/nvidiaN', () => {
  assert.equal(localGpuDevices({ PIPELINE_GPUS: '2' }), ['0', '1']);
  assert.equal(localGpuDevices({ PIPELINE_GPUS: '1,3' }), ['1', '3']);
  assert.equal(localGpuDevices({ PIPELINE_GPUS: 'none', CUDA_VISIBLE_DEVICES: '0' }), []);
  assert.equal(localGpuDevices({ CUDA_VISIBLE_DEVICES: '2,0' }), ['2', '0']);
  assert.throws(() => localGpuDevices({ PIPELINE_GPUS: '1,1' }), /distinct device ids/);
  assert.equal(localGpuDevices({}, '/nonexistent-dev'), []);
});

test('the gate is first come, first served: a wide request is not overtaken by narrow ones behind it', async () => {
  const gate = new SlotGate(2);
  const order: string[] = [];
  let releaseFirst!: () => void;
  const first = gate.run({ slots: 1, gpus: 0 }, () => new Promise<void>((r) => (releaseFirst = () => (order.push('a end'), r()))));
  const wide = gate.run({ slots: 2, gpus: 0 }, async () => void order.push('wide'));
  const narrow = gate.run({ slots: 1, gpus: 0 }, async () => void order.push('narrow'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(order, [], 'the narrow one waits behind the wide one although a slot is free');
  releaseFirst();
  await Promise.all([first, wide, narrow]);
  assert.equal(order, ['a end', 'wide', 'narrow']);
  assert.is(gate.peakSlots, 2);
});

test.run();
