/** squeue's lines as the slurm executor reads them: the node a task runs on, a comment that keeps its '|'. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSqueue } from '../../../engine/executors/slurm-cli.ts';

test('each row has its id, state, reason, node list and whole comment', () => {
  const out = '7_2|NODE_FAIL|NodeDown|n2|/c/jobs/a/0.json\n7_[3-5]|PENDING|Resources||/c/jobs/a/0.json\n8_0|RUNNING|None|n1|/odd|path\n\n';
  assert.equal(parseSqueue(out), [
    { id: '7_2', state: 'NODE_FAIL', reason: 'NodeDown', nodes: 'n2', comment: '/c/jobs/a/0.json' },
    { id: '7_[3-5]', state: 'PENDING', reason: 'Resources', nodes: '', comment: '/c/jobs/a/0.json' },
    { id: '8_0', state: 'RUNNING', reason: 'None', nodes: 'n1', comment: '/odd|path' },
  ]);
});

test.run();
