/**
 * Pipeline workers are threads of one process: a stage that changes process-wide state (OpenBLAS's
 * thread count, environment variables, the working directory) changes the results of the nodes
 * running beside it. One did (an eos `threads` param; CI's reproduction caught it): this keeps
 * the stages free of such calls.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../helpers/project.ts';

const FORBIDDEN = [/\bwithThreads\s*\(/, /\bsetThreads\s*\(/, /process\.env\.[A-Za-z_]+\s*=[^=]/, /process\.chdir\s*\(/];

test('no stage changes process-wide state', () => {
  const files = ['stages', 'stages/lib'].flatMap((d) => readdirSync(join(PACKAGE_ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => join(d, f)));
  assert.ok(files.length > 10);
  for (const f of files) {
    const text = readFileSync(join(PACKAGE_ROOT, f), 'utf8');
    for (const re of FORBIDDEN) assert.not.ok(re.test(text), `${f} matches ${re}`);
  }
});

test.run();
