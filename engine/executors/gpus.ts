/**
 * The GPU devices the local pool hands out (one set per job, as CUDA_VISIBLE_DEVICES): from
 * PIPELINE_GPUS (a count, "4", or a list of device ids, "0,2"; "none" or "" for none), else the
 * CUDA_VISIBLE_DEVICES this process was started with, else the NVIDIA device files present
 * (/dev/nvidia0, /dev/nvidia1, ...). Nothing is executed to find them (not even nvidia-smi):
 * `plan` must not start programs.
 */
import { readdirSync } from 'node:fs';
import { PipelineError } from '../errors.ts';

export function localGpuDevices(env: NodeJS.ProcessEnv = process.env, devDir = '/dev'): string[] {
  const given = env.PIPELINE_GPUS;
  if (given !== undefined) {
    const v = given.trim();
    if (v === '' || v === 'none') return [];
    if (/^\d+$/.test(v)) return Array.from({ length: Number(v) }, (_, i) => String(i));
    const ids = v.split(',').map((x) => x.trim());
    if (ids.some((x) => !/^[\w-]+$/.test(x)) || new Set(ids).size !== ids.length) {
      throw new PipelineError(`PIPELINE_GPUS: expected a count (4) or distinct device ids (0,2), got ${JSON.stringify(given)}`, { key: 'PIPELINE_GPUS' });
    }
    return ids;
  }
  const visible = env.CUDA_VISIBLE_DEVICES?.trim();
  if (visible !== undefined) return visible === '' || visible === '-1' || visible === 'NoDevFiles' ? [] : visible.split(',').map((x) => x.trim());
  try {
    return readdirSync(devDir)
      .map((f) => /^nvidia(\d+)$/.exec(f)?.[1])
      .filter((x): x is string => x !== undefined)
      .sort((a, b) => Number(a) - Number(b));
  } catch {
    return [];
  }
}
