/** A failing TypeScript stage's stack names the user's source file and line, not the .build/ bundle. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, makeProject } from '../helpers/project.ts';

test('the failure log of a throwing project stage points at stages/bad.ts:6', () => {
  const dir = makeProject({
    'stages/bad.ts': 'export default {\n  description: "throws",\n  params: {},\n  run() {\n    const a = 1;\n    throw new Error("boom " + a);\n  },\n};\n',
    'configs/t.yml': 'stages:\n  b:\n    stage: bad\n',
  });
  const r = cli(dir, ['run', 't', '--debug']);
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`at Object\\.run \\(${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/stages/bad\\.ts:6:\\d+\\)`));
});

test.run();
