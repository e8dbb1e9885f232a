/**
 * Where ONNX Runtime is not available (PIPELINE_ORT=off stands in for a platform it does not ship
 * for), linear algebra and training take today's paths, and forcing ort fails loudly.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNative } from '../../numerics/backend.ts';
import { PACKAGE_ROOT } from '../helpers/project.ts';

const probe = `
import { backend } from './numerics/backend.ts';
import { trainBackend, trainEnv } from './stages/lib/train-backend.ts';
let linalg;
try { linalg = backend().name; } catch (e) { linalg = 'error: ' + e.message; }
console.log(JSON.stringify({ linalg, train: trainBackend(), env: trainEnv() }));
`;
const run = (env: Record<string, string>) => {
  const base = { ...process.env };
  for (const k of ['PIPELINE_LINALG', 'PIPELINE_TRAIN_BACKEND', 'PIPELINE_TFJS_BACKEND']) delete base[k];
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: PACKAGE_ROOT, encoding: 'utf8', env: { ...base, ...env } });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { linalg: string; train: string; env: Record<string, string> };
};

test('PIPELINE_ORT=off: OpenBLAS or TypeScript linear algebra, tfjs training, nothing of ORT in the keys', () => {
  const r = run({ PIPELINE_ORT: 'off' });
  assert.is(r.linalg, loadNative() ? 'native' : 'js');
  assert.ok(['wasm', 'tensorflow'].includes(r.train), r.train);
  assert.is(r.env.ort, undefined);
  // tfjs's own version and backend reach the key through the facts tfjs.ts registers.
  assert.is(r.env.train_backend, r.train);
});

test('PIPELINE_ORT=off with PIPELINE_LINALG=ort is an error, not a silent fallback', () => {
  assert.match(run({ PIPELINE_ORT: 'off', PIPELINE_LINALG: 'ort' }).linalg, /^error: PIPELINE_LINALG=ort/);
});

test.run();
