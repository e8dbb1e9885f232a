/** Filesystem faults become one line with what failed, where and what to do; exit code 3. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeFsFault, fsFaultCode, isFsFaultMessage } from '../../engine/store/fs-faults.ts';
import { cli, makeProject, TOY_CONFIG, TOY_STAGES } from '../helpers/project.ts';

const nodeError = (code: string, syscall: string, path?: string) => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
const CACHE = { dir: '/p/cache', name: 'the cache', alternative: ', or choose another folder with --cache-dir' };

test('each fault says what failed, where (and in which place), and what to do, in one line', () => {
  const cases: [string, string, string, RegExp][] = [
    ['ENOSPC', 'mkdir', '/p/cache/staging/k.1.0', /^no space left on the device \(ENOSPC\): could not create the folder \/p\/cache\/staging\/k\.1\.0 in the cache \(\/p\/cache\): free some space .* or choose another folder with --cache-dir$/],
    ['EDQUOT', 'write', '/p/cache/objects/ab/k/X.f64', /^disk quota exceeded \(EDQUOT\): could not write \/p\/cache\/objects\/ab\/k\/X\.f64 in the cache/],
    ['EROFS', 'open', '/p/cache/refs/t.json', /^read-only file system \(EROFS\): could not open .*: remount it writable, or choose another folder with --cache-dir$/],
    ['EACCES', 'mkdir', '/p/cache/locks', /^permission denied \(EACCES\): could not create the folder \/p\/cache\/locks in the cache \(\/p\/cache\): make it writable/],
    ['EPERM', 'rename', '/p/reports/t.tmp', /^operation not permitted \(EPERM\): could not move \/p\/reports\/t\.tmp: .*chattr -i/],
    ['EMFILE', 'open', '/p/cache/objects/ab/k/meta.json', /^too many open files \(EMFILE\): could not open .*: raise the limit \(ulimit -n\) or run fewer nodes at once \(--jobs\)$/],
  ];
  for (const [code, syscall, path, expected] of cases) {
    const line = describeFsFault(nodeError(code, syscall, path), [CACHE])!;
    assert.match(line, expected, line);
    assert.not.match(line, '\n');
    assert.ok(isFsFaultMessage(line));
  }
});

test('a failed write names the folder being written; other errors are not faults', () => {
  const write = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  assert.match(describeFsFault(write, [CACHE], '/p/cache/staging/k.1.0')!, 'could not write in /p/cache/staging/k.1.0 in the cache (/p/cache)');
  assert.is(describeFsFault(new Error('boom')), undefined);
  assert.is(describeFsFault(nodeError('ENOENT', 'open', '/p/missing.csv')), undefined);
  assert.is(fsFaultCode(new RangeError('x')), undefined);
  assert.ok(isFsFaultMessage("ENOSPC: no space left on device, open '/p/cache/staging/k/meta.json'"));
  assert.not.ok(isFsFaultMessage('boom: deliberate failure'));
});

test('Node\'s "Worker initialization failure: EMFILE" is the EMFILE fault', () => {
  const e = Object.assign(new Error('Worker initialization failure: EMFILE'), { code: 'ERR_WORKER_INIT_FAILED' });
  assert.is(describeFsFault(e), 'too many open files (EMFILE): could not start a worker thread: raise the limit (ulimit -n) or run fewer nodes at once (--jobs)');
});

test('a cache path that is a file: one line naming the file, exit 3, no stack; --debug adds it', () => {
  const dir = makeProject({ ...TOY_STAGES, 'configs/toy.yml': TOY_CONFIG });
  const file = join(mkdtempSync(join(tmpdir(), 'pipeline-file-')), 'cache');
  writeFileSync(file, 'not a folder');
  const r = cli(dir, ['run', 'toy', '--cache-dir', file]);
  assert.is(r.code, 3, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, `error: not a folder (ENOTDIR): could not create the folder ${file}/locks (${file} is a file) in the cache (${file}): move that file away`);
  const d = cli(dir, ['run', 'toy', '--cache-dir', file, '--debug']);
  assert.is(d.code, 3);
  assert.match(d.stderr, /\n\s+at /);
});

test('a stage whose output write fails with ENOSPC: its error line says so; the run exits 3', () => {
  const dir = makeProject({
    ...TOY_STAGES,
    'stages/full.ts': `export default {
  description: 'fails as a full disk does',
  params: {},
  run() { throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }); },
};
`,
    'configs/d.yml': 'stages:\n  full:\n    stage: full\n',
  });
  const r = cli(dir, ['run', 'd', '--json']);
  assert.is(r.code, 3, r.stderr);
  const node = JSON.parse(r.stdout).nodes[0];
  assert.match(node.error, /^no space left on the device \(ENOSPC\): could not write in .*\/cache\/staging\/.* in the cache \(.*\/cache\): free some space/);
  assert.not.match(node.error, '\n');
});

test.run();
