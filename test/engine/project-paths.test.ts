import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isInside } from '../../engine/config/project-paths.ts';

test('inside the project, after resolving links', () => {
  const root = mkdtempSync(join(tmpdir(), 'pipeline-paths-'));
  const project = join(root, 'p');
  mkdirSync(join(project, 'data'), { recursive: true });
  writeFileSync(join(project, 'data', 'x.csv'), '');
  writeFileSync(join(root, 'outside.csv'), '');
  symlinkSync(join(root, 'outside.csv'), join(project, 'data', 'link.csv'));
  symlinkSync(join(project, 'data', 'x.csv'), join(project, 'inner-link.csv'));
  assert.ok(isInside(project, join(project, 'data', 'x.csv')));
  assert.ok(isInside(project, join(project, 'inner-link.csv')));
  assert.ok(isInside(project, join(project, 'data', 'missing.csv')));
  assert.not.ok(isInside(project, join(project, 'data', 'link.csv')));
  assert.not.ok(isInside(project, join(project, '..', 'outside.csv')));
  assert.not.ok(isInside(project, '/etc/passwd'));
  // A sibling whose name starts with the project's is not inside it.
  assert.not.ok(isInside(project, `${project}2/x.csv`));
});

test.run();
