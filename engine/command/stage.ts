/**
 * The `command` stage kind as the engine's stage table sees it. It has no TypeScript module: what
 * a command node runs and what its key holds come from the config block (spec.ts) and the files
 * it names (identity.ts); the executors run it with run.ts instead of a worker thread.
 */
import type { StageDefinition } from '../stage-api.ts';
import type { LoadedStage } from '../keys/stages.ts';

export const COMMAND_KIND = 'command';

const def: StageDefinition = {
  description: 'any program as a stage: an argv list (or a shell string), declared outputs, deps and env (README: "Your own experiments")',
  params: {},
  run() {
    throw new Error('a command stage runs through engine/command/run.ts, never in a worker thread');
  },
};

export const commandStage: LoadedStage = { kind: COMMAND_KIND, def, bundle: '', code: 'command', sources: {}, env: {}, facts: {}, factSources: [] };
