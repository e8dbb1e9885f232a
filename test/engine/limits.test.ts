import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listTargets } from '../../engine/config/config.ts';
import { checkDocument } from '../../engine/config/doc-guard.ts';
import { PipelineError, formatError } from '../../engine/errors.ts';
import { DEFAULT_MAX_NODES, formatBytes, maxJobs, maxSquareSide, memoryBytes, resolveMaxNodes, wholeNumberOption } from '../../engine/config/limits.ts';
import { targetNameProblem } from '../../engine/config/names.ts';

const message = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    assert.instance(e, PipelineError);
    return formatError(e);
  }
  throw new Error('expected an error');
};

test('options name themselves in their errors and are bounded', () => {
  const keep = wholeNumberOption('--keep-last', 1);
  assert.is(keep('3'), 3);
  assert.is(message(() => keep('0')), '--keep-last: expects a whole number >= 1, got "0"');
  for (const bad of ['1.5', '1e3', '-1', '', 'x', '0x10']) assert.match(message(() => keep(bad)), /^--keep-last: expects a whole number/);
  const jobs = wholeNumberOption('--jobs', 1, maxJobs(), 'why');
  assert.is(jobs(String(maxJobs())), maxJobs());
  assert.is(message(() => jobs('1000')), `--jobs: expects at most ${maxJobs()} (why), got 1000`);
});

test('node budget: option, then environment, then default', () => {
  assert.is(resolveMaxNodes(7, { PIPELINE_MAX_NODES: '9' }), 7);
  assert.is(resolveMaxNodes(undefined, { PIPELINE_MAX_NODES: '9' }), 9);
  assert.is(resolveMaxNodes(undefined, {}), DEFAULT_MAX_NODES);
  assert.match(message(() => resolveMaxNodes(undefined, { PIPELINE_MAX_NODES: '1e3' })), /^PIPELINE_MAX_NODES: /);
});

test('memory bound: the largest N whose N x N float64 matrix fits', () => {
  const n = maxSquareSide();
  assert.ok(8 * n * n <= memoryBytes() && 8 * (n + 1) * (n + 1) > memoryBytes());
  assert.is(formatBytes(24 * 2 ** 30), '24 GiB');
  assert.is(formatBytes(256 * 1024), '256 KiB');
});

test('documents: an alias bomb costs the budget, not its size; prototype keys are refused', () => {
  let level: unknown = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  for (let i = 0; i < 9; i++) level = Array(10).fill(level); // 10^10 values, shared references
  const t0 = performance.now();
  const p = checkDocument({ vars: { bomb: level } }, 1000);
  assert.ok(performance.now() - t0 < 50);
  assert.equal(p?.path.slice(0, 2), ['vars', 'bomb']);
  assert.is(checkDocument({ a: [1, 2, { b: 3 }] }), undefined);
  for (const k of ['__proto__', 'constructor', 'prototype']) {
    const doc = JSON.parse(`{"vars": {"${k}": {"x": 1}}}`);
    assert.equal(checkDocument(doc)?.path, ['vars', k], k);
  }
});

test('target names: one plain path segment', () => {
  for (const ok of ['fig3', 'ntk-vs-nngp', 'a.b', '_x', '3']) assert.is(targetNameProblem(ok), undefined, ok);
  for (const bad of ['.', '..', '../x', 'a/b', '-x', '.hidden', '', 'a\0b', 'x'.repeat(101)]) assert.ok(targetNameProblem(bad), bad);
});

test('ls lists a project whose config holds an alias bomb, at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-ls-'));
  mkdirSync(join(dir, 'configs'));
  const levels = ['  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]'];
  for (let l = 1; l < 9; l++) levels.push(`  l${l}: &l${l} [${Array(10).fill(l === 1 ? '*a' : `*l${l - 1}`).join(', ')}]`);
  writeFileSync(join(dir, 'configs', 'bomb.yml'), `title: t\naliases: *l8\nvars:\n${levels.join('\n')}\n`.replace('aliases: *l8\nvars:', 'vars:') + 'aliases: *l8\n');
  const t0 = performance.now();
  const listed = listTargets(dir);
  assert.ok(performance.now() - t0 < 500);
  assert.equal(listed.map((t) => [t.name, t.aliases.length]), [['bomb', 0]]);
});

test.run();
