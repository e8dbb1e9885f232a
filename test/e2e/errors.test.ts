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
`,
});

test('with -q: one line per failed node with the file:line to fix, its log path, no stack', () => {
  const r = cli(dir, ['run', 't', '-q']);
  assert.is(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.includes('failed bad (boom, configs/t.yml:8: stages.bad.params.limit): limit: 1 is too small for this data'), r.stderr);
  // (A bad data file is refused at plan time now, exit 2 with its file:line:column: test/engine/bad-inputs.test.ts.)
  assert.not.match(r.stderr, /\bat .*\.mjs:\d+/);
  const log = /log: (\S+)/.exec(r.stderr)![1];
  assert.ok(existsSync(join(dir, log)), log);
  assert.match(readFileSync(join(dir, log), 'utf8'), /Error: .*\n\s+at /);
});

test('--debug adds the stack; --json lists the failures', () => {
  const r = cli(dir, ['run', 't', '--debug']);
  assert.match(r.stderr, /limit: 1 is too small for this data\n {2}log: .*\n[\s\S]*\s+at /);
  const j = JSON.parse(cli(dir, ['run', 't', '--json']).stdout);
  assert.equal(j.failures.map((f: { id: string }) => f.id).sort(), ['bad']);
});

test('gc removes the failure logs', () => {
  const r = cli(dir, ['run', 't', '-q']);
  const log = /log: (\S+)/.exec(r.stderr)![1];
  assert.ok(existsSync(join(dir, log)));
  cli(dir, ['gc']);
  assert.not.ok(existsSync(join(dir, log)));
});

test.run();
