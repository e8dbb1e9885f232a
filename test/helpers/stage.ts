/** Runs a stage definition in-process on in-memory inputs, as the worker would. */
import { validateParams } from '../../engine/config/params.ts';
import type { F64Array, InputHandle, StageDefinition, StageOutputs } from '../../engine/stage-api.ts';

export function memoryInput(outputs: Record<string, unknown>, meta: { id?: string; stage?: string; coords?: Record<string, unknown> } = {}): InputHandle {
  const get = (name: string) => {
    if (!(name in outputs)) throw new Error(`no output ${name}`);
    return outputs[name];
  };
  return {
    id: meta.id ?? 'node',
    stage: meta.stage ?? 'node',
    coords: meta.coords ?? {},
    outputs: Object.keys(outputs),
    array: (name) => get(name) as F64Array,
    json: <T>(name: string) => structuredClone(get(name)) as T,
    text: (name) => get(name) as string,
  };
}

export async function runStage(def: StageDefinition, params: Record<string, unknown>, inputs: Record<string, InputHandle | InputHandle[]> = {}): Promise<StageOutputs> {
  const { params: full, issue } = validateParams(def, params);
  if (issue) throw new Error(`${issue.key}: ${issue.message}`);
  return def.run({ params: full, inputs, progress: () => {}, log: () => {}, file: (p) => p.path });
}

export function checkParams(def: StageDefinition, params: Record<string, unknown>): string | undefined {
  const { issue } = validateParams(def, params);
  return issue && `${issue.key}: ${issue.message}`;
}
