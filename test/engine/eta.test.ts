import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { estimateRemaining, fittedSeconds, formatDuration, recordTime, type RunTimes } from '../../engine/run/eta.ts';
import type { PlanNode } from '../../engine/config/expand.ts';

const node = (id: string, stage: string) => ({ id, stage }) as PlanNode;
const times = (entries: [string, number, number][]): RunTimes => ({
  byStage: new Map(entries.map(([s, n, seconds]) => [s, { n, seconds }])),
  all: { n: entries.reduce((a, e) => a + e[1], 0), seconds: entries.reduce((a, e) => a + e[2], 0) },
});

test('nothing known yet: no ETA', () => {
  assert.is(estimateRemaining({ pending: [node('a', 'fcn')], running: [], times: times([]), jobs: 2 }), undefined);
});

test('pending nodes take their stage mean of this build; the work is shared by the jobs', () => {
  const pending = [node('a', 'fcn'), node('b', 'fcn'), node('c', 'kernel')];
  assert.is(estimateRemaining({ pending, running: [], times: times([['fcn', 2, 40], ['kernel', 4, 4]]), jobs: 2 }), (20 + 20 + 1) / 2);
});

test("a running node's earlier run time counts down; before any node of its stage ends, its pace stands in", () => {
  const running = [{ node: node('a', 'eos'), elapsed: 4, fraction: 0.1, previous: 10 }];
  assert.is(estimateRemaining({ pending: [], running, times: times([]), jobs: 1 }), 6);
  const paced = [{ node: node('a', 'fcn'), elapsed: 5, fraction: 0.25 }];
  assert.is(estimateRemaining({ pending: [node('b', 'fcn')], running: paced, times: times([]), jobs: 1 }), 15 + 20);
});

const cell = (stage: string, coords: Record<string, unknown>) => ({ id: `${stage}${JSON.stringify(coords)}`, stage, coords }) as unknown as PlanNode;

test('a sweep whose cheap cells finish first: pending cells are fitted as a power law of their coordinates, not given the mean', () => {
  const t: RunTimes = { byStage: new Map(), all: { n: 0, seconds: 0 } };
  // An N^3 solve, linear in d0: the small cells have finished.
  for (const N of [128, 256]) for (const d0 of [1, 8]) for (const repeat of [0, 1]) recordTime(t, cell('eos', { N, d0, repeat }), 1e-6 * N ** 3 * (1 + d0 / 8));
  const big = cell('eos', { N: 1024, d0: 8, repeat: 0 });
  const truth = 1e-6 * 1024 ** 3 * 2;
  const fitted = fittedSeconds(t, big)!;
  assert.ok(Math.abs(fitted / truth - 1) < 0.35, `fitted ${fitted} vs ${truth}`);
  const mean = t.byStage.get('eos')!.seconds / t.byStage.get('eos')!.n;
  assert.ok(mean < truth / 50, 'the plain mean would have been far too short');
  assert.ok(Math.abs(estimateRemaining({ pending: [big], running: [], times: t, jobs: 1 })! - fitted) < 1e-9);
});

test('nothing varies among finished nodes: the stage mean; a pending node that ran before: its own time', () => {
  const t: RunTimes = { byStage: new Map(), all: { n: 0, seconds: 0 } };
  recordTime(t, cell('fcn', { N: 128, repeat: 0 }), 2);
  recordTime(t, cell('fcn', { N: 128, repeat: 1 }), 4);
  assert.is(fittedSeconds(t, cell('fcn', { N: 128, repeat: 2 })), 3);
  const again = cell('fcn', { N: 128, repeat: 3 });
  assert.is(estimateRemaining({ pending: [again], running: [], times: t, jobs: 1, previous: (n) => (n === again ? 10 : undefined) }), 10);
});

test('durations read like a clock', () => {
  assert.equal([formatDuration(42), formatDuration(80), formatDuration(3725)], ['42s', '1m 20s', '1h 02m']);
});

test.run();
