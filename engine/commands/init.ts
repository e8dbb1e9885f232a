/**
 * `pipeline init`: a new project in the current folder that runs at once — a Python command stage
 * (a script importing a helper module of the project) swept over a seed, a TypeScript stage that
 * summarises it, published as reports/experiment/. The walkthrough in the README starts here.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PipelineError } from '../errors.ts';

const FILES: Record<string, string> = {
  'configs/experiment.yml': `# A first experiment: \`npx pipeline run experiment\`, then edit experiments/*.py and run again.
title: My first experiment
description: A Python script swept over seeds and a scale, summarised by a TypeScript stage.
sweep:
  seed: [0, 1, 2]
  scale: [1.0, 2.0]
stages:
  simulate:
    stage: command
    params: { seed: "\${seed}", scale: "\${scale}", n: 1000 }
    command: [python3, experiments/simulate.py, --seed, "\${seed}", --out, "\${out}/result.json"]
    outputs: [result.json]
    timeout: 600
  summary:
    stage: summary
    inputs: { runs: { from: simulate, gather: true } }
publish: summary
`,
  'experiments/simulate.py': `"""One run of the experiment: reads its params, writes result.json. Run by \`pipeline run\`."""
import argparse
import json
import os

from stats import mean_and_spread, random_walk

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

# Every param is also in the params file (and \${name} in the command line).
params = json.load(open(os.environ["PIPELINE_PARAMS"]))
walk = random_walk(args.seed, params["n"], params["scale"])
print("::progress 1.0 walked")
with open(args.out, "w") as f:
    json.dump({"seed": args.seed, "scale": params["scale"], **mean_and_spread(walk)}, f)
`,
  'experiments/stats.py': `"""Helpers of the experiment: nothing lists this file, yet editing it reruns what imports it."""
import random


def random_walk(seed, n, scale):
    rng = random.Random(seed)
    x, out = 0.0, []
    for _ in range(n):
        x += rng.gauss(0.0, scale)
        out.append(x)
    return out


def mean_and_spread(xs):
    m = sum(xs) / len(xs)
    return {"mean": m, "spread": (sum((x - m) ** 2 for x in xs) / len(xs)) ** 0.5}
`,
  'stages/summary.ts': `/** A TypeScript stage of this project: a table of the runs, per scale. */
export default {
  description: 'summarises the runs: mean spread per scale, as JSON and Markdown',
  params: {},
  inputs: { runs: { doc: 'the runs (result.json each)', gather: true } },
  run({ inputs }: { inputs: { runs: { json(name: string): { seed: number; scale: number; mean: number; spread: number } }[] } }) {
    const rows = inputs.runs.map((r) => r.json('result.json'));
    const scales = [...new Set(rows.map((r) => r.scale))].sort((a, b) => a - b);
    const table = scales.map((scale) => {
      const of = rows.filter((r) => r.scale === scale);
      return { scale, runs: of.length, spread: of.reduce((s, r) => s + r.spread, 0) / of.length };
    });
    const md = ['# My first experiment', '', '| scale | runs | mean spread |', '|---|---|---|', ...table.map((t) => \`| \${t.scale} | \${t.runs} | \${t.spread.toFixed(3)} |\`), ''].join('\\n');
    return { 'summary.json': table, 'README.md': md };
  },
};
`,
  '.gitignore': 'cache/\n.build/\nnode_modules/\n',
  'README.md': `# My experiments

Built with \`pipeline\`: \`npx pipeline run experiment\` runs \`configs/experiment.yml\` and writes
\`reports/experiment/\`. Results are cached by content: edit \`experiments/simulate.py\` or the
helper \`experiments/stats.py\` and only what depends on the change runs again
(\`npx pipeline plan experiment\` says what would run and why). A comment-only edit reruns nothing.
\`npx pipeline logs 'simulate[seed=0,scale=1.0]'\` shows a run's output.
`,
};

export function initCommand(cwd: string): string[] {
  const clash = Object.keys(FILES).filter((f) => existsSync(join(cwd, f)));
  if (clash.length) throw new PipelineError(`pipeline init writes a new project; these exist already: ${clash.join(', ')}`);
  if (existsSync(join(cwd, 'configs')) && readdirSync(join(cwd, 'configs')).length) throw new PipelineError('pipeline init needs a folder without configs (this one is a project already)');
  for (const [name, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(cwd, name)), { recursive: true });
    writeFileSync(join(cwd, name), text);
  }
  return Object.keys(FILES);
}
