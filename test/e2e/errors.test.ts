/** A node that throws at run time: one clear line (id, stage, where, message), the stack only in its log and with --debug. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, makeProject } from '../helpers/project.ts';

const BOOM = `export default {
  description: 'fails when its limit is too small',
  params: { limit: { type: 'integer', doc: 'how much' } },
  run({ params }) {
    if (params.limit < 3) throw new Error('limit: ' + params.limit + ' is too small for this data');
    return { 'value.json': { ok: true } };
  },
};
`;

const dir = makeProject({
  'stages/boom.ts': BOOM,
  'configs/t.yml': `stages:
  ok:
    stage: boom
    params: { limit: 5 }
  bad:
    stage: boom
    params:
      limit: 1
  csv:
    stage: dataset-file
    params: { path: data/bad.csv }
  after:
    stage: kernel
    inputs: { data: csv }
    params: { model: nngp }
`,
  'data/bad.csv': 'x1,x2,label\n1,2,a\n1,abc,b\n2,2,a\n3,3,b\n',
});

test('with -q: one line per failed node with the file:line to fix, its log path, no stack', () => {
  const r = cli(dir, ['run', 't', '-q']);
  assert.is(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.includes('failed bad (boom, configs/t.yml:8: stages.bad.params.limit): limit: 1 is too small for this data'), r.stderr);
  assert.ok(lines.includes('failed csv (dataset-file, data/bad.csv:3): line 3: "abc" is not a number'), r.stderr);
  assert.ok(lines.includes('1 node skipped: an upstream node failed'), r.stderr);
  assert.not.match(r.stderr, /\bat .*\.mjs:\d+/);
  const log = /log: (\S+)/.exec(r.stderr)![1];
  assert.ok(existsSync(join(dir, log)), log);
  assert.match(readFileSync(join(dir, log), 'utf8'), /Error: .*\n\s+at /);
});

test('--debug adds the stack; --json lists the failures', () => {
  const r = cli(dir, ['run', 't', '--debug']);
  assert.match(r.stderr, /limit: 1 is too small for this data\n {2}log: .*\n[\s\S]*\s+at /);
  const j = JSON.parse(cli(dir, ['run', 't', '--json']).stdout);
  assert.equal(j.failures.map((f: { id: string }) => f.id).sort(), ['bad', 'csv']);
});

test('gc removes the failure logs', () => {
  const r = cli(dir, ['run', 't', '-q']);
  const log = /log: (\S+)/.exec(r.stderr)![1];
  assert.ok(existsSync(join(dir, log)));
  cli(dir, ['gc']);
  assert.not.ok(existsSync(join(dir, log)));
});

test.run();
