/** Runs one job in the current thread: load the stage module, give it its inputs, write its outputs. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '../keys/hash.ts';
import { factMismatch, readStageFacts } from '../keys/key-facts.ts';
import { inputHandle, writeOutputs } from '../store/outputs.ts';
import type { StageDefinition } from '../stage-api.ts';
import type { Job, JobResult } from './job.ts';

const modules = new Map<string, Promise<StageDefinition>>();
const MAX_LOG_LINES = 200;

function loadStage(bundle: string): Promise<StageDefinition> {
  let m = modules.get(bundle);
  if (!m) {
    m = import(pathToFileURL(bundle).href).then((mod: { default: StageDefinition }) => mod.default);
    modules.set(bundle, m);
  }
  return m;
}

/** Never files a result under a key made for another backend, thread count or version. */
function checkFacts(job: Job, def: StageDefinition, when: string): void {
  if (!job.facts) return;
  const why = factMismatch(job.facts, readStageFacts(def).facts);
  if (why) throw new Error(`refusing to run ${job.nodeId}: ${when}, ${why}`);
}

export async function runJob(job: Job, progress: (fraction: number, note?: string) => void): Promise<JobResult> {
  const def = await loadStage(job.bundle);
  checkFacts(job, def, 'before it ran');
  const inputs = Object.fromEntries(
    Object.entries(job.inputs).map(([port, inp]) => [port, inp.gather ? inp.refs.map((r) => inputHandle(r, job.verifyInputs !== false)) : inputHandle(inp.refs[0], job.verifyInputs !== false)]),
  );
  const log: string[] = [];
  const start = performance.now();
  const outputs = await def.run({
    params: structuredClone(job.params),
    inputs,
    progress,
    file: (param) => {
      const abs = resolve(job.root, param.path);
      if (sha256(readFileSync(abs)) !== param.sha256) throw new Error(`${param.path} changed while the run was planned; run again`);
      return abs;
    },
    log: (message) => {
      if (log.length < MAX_LOG_LINES) log.push(message);
    },
  });
  const seconds = (performance.now() - start) / 1000;
  // A module imported only inside run registers its facts only now: they are not in the key.
  checkFacts(job, def, 'while it ran');
  return { outputs: writeOutputs(job.outDir, outputs), seconds, log };
}
