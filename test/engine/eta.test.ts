import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { estimateRemaining, formatDuration, type RunTimes } from '../../engine/eta.ts';
import type { PlanNode } from '../../engine/expand.ts';

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

test('durations read like a clock', () => {
  assert.equal([formatDuration(42), formatDuration(80), formatDuration(3725)], ['42s', '1m 20s', '1h 02m']);
});

test.run();
