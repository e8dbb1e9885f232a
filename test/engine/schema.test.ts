/** The config JSON Schema (`pipeline schema`): shipped configs name it, pass it, and it is current. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as yaml from 'js-yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { schemaCommand } from '../../engine/commands/schema.ts';
import { BUILD_DIR, makeProject, PACKAGE_ROOT } from '../helpers/project.ts';

const configsDir = join(PACKAGE_ROOT, 'configs');
const shipped = JSON.parse(readFileSync(join(configsDir, 'pipeline.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(shipped);
const check = (doc: unknown) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

test('configs/pipeline.schema.json is what `pipeline schema` generates from the stage kinds today', async () => {
  const { text } = await schemaCommand({ packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: PACKAGE_ROOT });
  assert.ok(text === readFileSync(join(configsDir, 'pipeline.schema.json'), 'utf8'), 'stale: run `npx pipeline schema -o configs/pipeline.schema.json`');
});

test('every shipped config names the schema on its first line and validates against it', () => {
  const files = readdirSync(configsDir).filter((f) => f.endsWith('.yml'));
  assert.ok(files.length >= 10);
  for (const f of files) {
    const text = readFileSync(join(configsDir, f), 'utf8');
    assert.is(text.split('\n')[0], '# yaml-language-server: $schema=./pipeline.schema.json', f);
    assert.equal(check(yaml.load(text)), [], f);
  }
});

test('the schema rejects what the engine rejects: unknown keys, wrong param types, out-of-range values, unknown kinds', () => {
  const base = { stages: { data: { stage: 'gaussian', params: { N: 128, d0: 2, std: 0.5, seed: 0 } } } };
  assert.equal(check(base), []);
  assert.ok(check({ ...base, stagez: {} }).length > 0, 'unknown top-level key');
  assert.ok(check({ stages: { data: { stage: 'gaussian', params: { N: 128, d0: 2, std: -0.5, seed: 0 } } } }).length > 0, 'negative std');
  assert.ok(check({ stages: { data: { stage: 'gaussian', params: { N: 'many', d0: 2 } } } }).length > 0, 'N not a number');
  assert.ok(check({ stages: { data: { stage: 'gaussian', params: { N: 128, d0: 2, stdd: 1 } } } }).length > 0, 'unknown param');
  assert.ok(check({ stages: { data: { stage: 'gausian' } } }).length > 0, 'unknown kind');
  assert.ok(check({ stages: { data: { params: {} } } }).length > 0, 'a config that extends nothing must name each kind');
  assert.equal(check({ extends: 'fig2.yml', stages: { data: { params: { std: 1 } } } }), [], 'an override in an extending config');
  assert.equal(check({ stages: { data: { stage: 'gaussian', params: { N: '${N}', d0: '${d0}' } } } }), [], 'references');
});

test("a project's own stage kinds are in its schema", async () => {
  const dir = makeProject({
    'stages/boom.ts': `export default { description: 'x', params: { limit: { type: 'integer', min: 1, doc: 'how much' } }, run() { return {}; } };\n`,
  });
  const schema = JSON.parse((await schemaCommand({ packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir })).text);
  assert.ok(schema.$defs.stage.properties.stage.enum.includes('boom'));
  assert.equal(schema.$defs.params.boom.properties.limit.anyOf[0], { type: 'integer', minimum: 1 });
  const v = new Ajv2020({ strict: false }).compile(schema);
  assert.ok(v({ stages: { b: { stage: 'boom', params: { limit: 2 } } } }));
  assert.not.ok(v({ stages: { b: { stage: 'boom', params: { limit: 0 } } } }));
});

test.run();
