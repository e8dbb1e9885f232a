/**
 * Before a local run starts: every node's `resources` must fit this machine's pool. A node asking
 * for more GPUs than the devices found can never run here (exit 2, naming the config line); one
 * asking more threads than `--jobs` runs alone, with the whole pool, and the run says so once per
 * stage. Memory and time are for cluster schedulers: the local pool does not enforce them.
 */
import { PipelineError } from '../errors.ts';
import type { Expansion } from '../config/expand.ts';

export function checkLocalResources(exp: Expansion, jobs: number, devices: readonly string[]): string[] {
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const n of exp.nodes) {
    const r = n.resources;
    if (!r) continue;
    const key = `${n.target}/${n.stage}`;
    if (seen.has(key)) continue;
    const t = exp.targets.find((x) => x.name === n.target);
    if ((r.gpus ?? 0) > devices.length) {
      const found = devices.length ? `only ${devices.length} (${devices.join(',')})` : 'none';
      throw new PipelineError(
        `stage "${n.stage}" asks for ${r.gpus} GPU${r.gpus === 1 ? '' : 's'} a node, and the local executor has ${found}: set PIPELINE_GPUS to the device ids, or run it with --executor slurm`,
        t ? { ...t.locate(['stages', n.stage, 'resources', 'gpus']), key: `stages.${n.stage}.resources.gpus` } : { key: `stages.${n.stage}.resources.gpus` },
      );
    }
    if ((r.threads ?? 1) > jobs) {
      seen.add(key);
      notes.push(`stage "${n.stage}" asks threads: ${r.threads}, more than --jobs ${jobs}: its nodes run alone, each with all ${jobs} slot${jobs === 1 ? '' : 's'}`);
    }
  }
  return notes;
}
