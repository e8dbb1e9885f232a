import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatGroups, groupByStage } from '../../engine/report/plan-format.ts';
import type { NodeResult } from '../../engine/run/scheduler.ts';

const node = (id: string, stage: string, status: NodeResult['status'], changed?: string[]): NodeResult => ({ id, stage, status, changed });

test('plan groups nodes by stage: one line each with the count and the reasons', () => {
  const nodes = [
    node('data[N=1]', 'data', 'cached'),
    node('data[N=2]', 'data', 'cached'),
    node('ntk[N=1]', 'ntk', 'would-run', ['params.activation: "erf" -> "relu"']),
    node('ntk[N=2]', 'ntk', 'would-run', ['params.activation: "erf" -> "relu"']),
    node('summary', 'summary', 'would-run', ['upstream ntk[N=1] will run']),
  ];
  const kinds: Record<string, string> = { data: 'gaussian', ntk: 'kernel', summary: 'aggregate' };
  const lines = formatGroups(groupByStage(nodes, (s) => kinds[s]), 'to run');
  assert.equal(lines, [
    'data     gaussian   2 cached',
    'ntk      kernel     2 to run: params.activation: "erf" -> "relu"',
    'summary  aggregate  1 to run: upstream ntk will run',
  ]);
});

test('several reasons in one stage are counted', () => {
  const nodes = [node('a[1]', 'a', 'would-run', ['new node (never built)']), node('a[2]', 'a', 'would-run', ['code: stages/x.ts']), node('a[3]', 'a', 'would-run', ['code: stages/x.ts'])];
  assert.equal(formatGroups(groupByStage(nodes, () => 'x'), 'to run'), ['a      x     3 to run: code: stages/x.ts (2); new node (never built) (1)']);
});

test.run();
