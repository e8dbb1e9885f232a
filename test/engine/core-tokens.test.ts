/**
 * The run's jobserver: a job may borrow the cores no other job is using (engine/core-tokens.ts).
 * A toy stage borrows all it can while it runs and says how many it got.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { showCommand } from '../../engine/commands.ts';
import { BUILD_DIR, makeProject, PACKAGE_ROOT, run } from '../helpers/project.ts';

const BORROW_STAGE = `import { borrowCores, returnCores } from ${JSON.stringify(join(PACKAGE_ROOT, 'engine/core-tokens.ts'))};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export default {
  description: 'waits, borrows every idle core it can, holds them a while, says how many',
  params: { tag: { type: 'integer', doc: 'which copy' } },
  async run() {
    await sleep(300);
    const got = borrowCores(64);
    await sleep(300);
    returnCores(got);
    return { 'value.json': { got } };
  },
};
`;
const config = (tags: number[]) => `title: borrow\nsweep:\n  tag: [${tags.join(', ')}]\nstages:\n  b:\n    stage: borrow\n    params:\n      tag: \${tag}\n`;

async function borrowed(tags: number[], jobs: number): Promise<number[]> {
  const dir = makeProject({ 'stages/borrow.ts': BORROW_STAGE, 'configs/borrow.yml': config(tags) });
  const s = await run(dir, 'borrow', { jobs });
  return Promise.all(
    s.nodes.map(async (n) => {
      const meta = (await showCommand(n.id, { packageRoot: PACKAGE_ROOT, buildDir: BUILD_DIR, cwd: dir })) as { dir: string };
      return JSON.parse(readFileSync(join(meta.dir, 'value.json'), 'utf8')).got as number;
    }),
  );
}

const cores = availableParallelism();

test('a lone job borrows every other core (2 job slots, 1 job)', async () => {
  assert.equal(await borrowed([1], 2), [cores - 1]);
});

test('jobs that fill the slots borrow only what is left', async () => {
  assert.equal(await borrowed([1, 2], 2), [Math.max(0, cores - 2), Math.max(0, cores - 2)]);
});

test('one job at a time (--jobs 1): each borrows every other core, so they were given back', async () => {
  assert.equal(await borrowed([1, 2, 3], 1), [cores - 1, cores - 1, cores - 1]);
});

test.run();
