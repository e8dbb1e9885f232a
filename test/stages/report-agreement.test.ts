/**
 * The report's `agreement` pairs: two stages that compute the same NC1 two ways, compared run by
 * run on the same data; the largest |Δ log10 NC1| is computed from the runs and stated.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProject, run } from '../helpers/project.ts';

const CONFIG = `title: agree
sweep:
  N: [32]
  d0: [2, 8]
  repeat: 2
stages:
  data:
    stage: gaussian
    params: { N: "\${N}", d0: "\${d0}", seed: "\${repeat}" }
  nngp:
    stage: kernel
    inputs: { data: data }
    params: { model: nngp }
  # The same kernel again (another node: it also stores the matrix): must agree exactly.
  nngp_again:
    stage: kernel
    inputs: { data: data }
    params: { model: nngp, save_matrix: true }
  ntk:
    stage: kernel
    inputs: { data: data }
    params: { model: ntk }
  summary:
    stage: aggregate
    inputs: { runs: [nngp, nngp_again, ntk] }
  report:
    stage: report
    inputs: { summary: summary }
    params: { title: agree, description: "", target: "\${target}", profile: "\${profile}", agreement: ["nngp_again:nngp", "ntk:nngp"], agreement_tolerance: 1e-10 }
publish: report
`;

test('agreement: the largest |Δ log10 NC1| per pair over every run, stated and in results.json; a pair that differs is flagged', async () => {
  const dir = makeProject({ 'configs/agree.yml': CONFIG });
  const s = await run(dir, 'agree');
  assert.is(s.failed, 0);
  const results = JSON.parse(readFileSync(join(dir, 'reports/agree/results.json'), 'utf8'));
  const [same, other] = results.agreement;
  assert.equal([same.a, same.b, same.runs, same.unmatched, same.max_abs_delta_log10_nc1, same.within], ['nngp_again', 'nngp', 4, 0, 0, true]);
  assert.equal([other.a, other.b, other.runs, other.within], ['ntk', 'nngp', 4, false]);
  assert.ok(other.max_abs_delta_log10_nc1 > 0.01, String(other.max_abs_delta_log10_nc1));
  const md = readFileSync(join(dir, 'reports/agree/README.md'), 'utf8');
  assert.match(md, /\*\*nngp_again\*\* against \*\*nngp\*\*: largest \|Δ log10 NC1\| = 0\.00e\+0 over 4 runs on the same data .*within the tolerance 1e-10\./);
  assert.match(md, /\*\*ntk\*\* against \*\*nngp\*\*: largest \|Δ log10 NC1\| = \d\.\d\de-\d+ over 4 runs .*\*\*not within the tolerance 1e-10\*\*/);
  assert.match(md, /Largest \|Δ log10 NC1\| over all 8 pairs of runs: .*\(ntk against nngp\); \*\*some pairs are not within/);
  assert.match(results.headline, /^Largest \|Δ log10 NC1\| over all 8 pairs of runs/);
});

test.run();
