/**
 * A JSON Schema (draft 2020-12) of the config language, built from the stage kinds' param specs,
 * for editors (yaml-language-server) and for checking configs without running them. It mirrors
 * engine/config/config.ts: top-level keys, stages {stage, params, inputs, over, description}, inputs as a
 * name, a list or {from, gather}, profiles overriding vars/sweep/stages; each stage's params are
 * checked against its kind's specs when the entry names its kind (an entry that only overrides a
 * stage of an extended config does not, and is checked loosely).
 *
 * Any param may be a whole reference "${name}" (its type is known only after expansion), and a
 * string param may embed references.
 */
import type { ParamSpec, StageDefinition } from '../stage-api.ts';

type Schema = Record<string, unknown>;

export const SCHEMA_ID = 'https://pipeline.invalid/config.schema.json';
const REFERENCE = { type: 'string', pattern: '^\\$\\{\\w+\\}$', description: 'a reference to a var or sweep axis, resolved at expansion' };

function numberSchema(spec: ParamSpec, integer: boolean): Schema {
  const s: Schema = { type: integer ? 'integer' : 'number' };
  if (spec.min !== undefined) s.minimum = spec.min;
  if (spec.greaterThan !== undefined) s.exclusiveMinimum = spec.greaterThan;
  // A bound with a reason is derived from this machine (its memory): the shipped schema must be
  // the same everywhere, and `run` checks such bounds with the reason anyway.
  if (spec.max !== undefined && spec.maxReason === undefined) s.maximum = spec.max;
  return s;
}

/** The schema of one param's value (before references are resolved). */
export function paramSchema(spec: ParamSpec): Schema {
  let value: Schema;
  switch (spec.type) {
    case 'number':
    case 'integer':
      value = numberSchema(spec, spec.type === 'integer');
      break;
    case 'boolean':
      value = { type: 'boolean' };
      break;
    case 'string':
      value = spec.enum ? { enum: [...spec.enum] } : { type: 'string' };
      break;
    case 'number[]':
    case 'integer[]':
      value = { type: 'array', items: { anyOf: [numberSchema(spec, spec.type === 'integer[]'), REFERENCE] } };
      break;
    case 'string[]':
      value = { type: 'array', items: spec.enum ? { anyOf: [{ enum: [...spec.enum] }, REFERENCE] } : { type: 'string' } };
      break;
    case 'file':
      value = { type: 'string', description: 'a path relative to the project root' };
      break;
    default:
      value = {};
  }
  const doc = `${spec.doc}${spec.default !== undefined ? ` (default: ${JSON.stringify(spec.default)})` : ''}`;
  if (spec.type === 'any') return { description: doc };
  // A string param may embed references anyway; other types accept a whole reference.
  return spec.type === 'string' && !spec.enum ? { ...value, description: doc } : { anyOf: [value, REFERENCE], description: doc };
}

function paramsSchema(def: StageDefinition): Schema {
  return {
    type: 'object',
    description: def.description,
    properties: Object.fromEntries(Object.entries(def.params).map(([k, spec]) => [k, paramSchema(spec)])),
    additionalProperties: false,
  };
}

const INPUT: Schema = {
  description: 'upstream stage(s): a name (one node with the same sweep coordinates), a list (gathers every node), or {from, gather}',
  anyOf: [
    { type: 'string' },
    { type: 'array', items: { type: 'string' } },
    {
      type: 'object',
      properties: { from: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }, gather: { type: 'boolean' } },
      required: ['from'],
      additionalProperties: false,
    },
  ],
};

/** engine/config/resources.ts: scheduling needs, in no key. */
const RESOURCES: Schema = {
  type: 'object',
  description: 'what a node needs to be scheduled (never in its key): local --jobs slots and GPUs; sbatch options on Slurm',
  properties: {
    threads: { type: 'integer', minimum: 1, maximum: 4096, description: 'cores a node uses: it takes that many of --jobs slots (at most all); --cpus-per-task on Slurm' },
    mem: { anyOf: [{ type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*[KMGTkmgt]?([iI]?[bB])?\\s*$' }, { type: 'number', exclusiveMinimum: 0 }], description: 'memory of a node: 4G, 512M, or megabytes; --mem on Slurm' },
    time: {
      anyOf: [{ type: 'string', pattern: '^\\s*(\\d+(\\.\\d+)?|\\d+(:\\d{1,2}){1,2}|(\\d+(\\.\\d+)?[smhdSMHD])+)\\s*$' }, { type: 'number', exclusiveMinimum: 0 }],
      description: 'wall time of a node: 30m, 2h, 1h30m, 90s, 1d, HH:MM:SS or minutes; a Slurm task gets it times its nodes',
    },
    gpus: { type: 'integer', minimum: 0, maximum: 4096, description: 'GPUs of a node: its own CUDA_VISIBLE_DEVICES locally (PIPELINE_GPUS), --gres=gpu:N on Slurm' },
  },
  additionalProperties: false,
};

/** The keys of a command stage (engine/command/spec.ts; README "Your own experiments"). */
const COMMAND_PROPERTIES: Record<string, Schema> = {
  command: { type: 'array', minItems: 1, items: { type: ['string', 'number'] }, description: 'the program as an argv list; ${param}, ${out}, ${params_file}, ${inputs.<port>}, ${root}, ${scratch} are replaced per node' },
  shell: { type: 'string', description: 'a shell string run by /bin/sh -c (instead of command:)' },
  outputs: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[\\w*?][\\w.*?-]*$' }, description: 'file names the program writes into ${out} (* and ? match)' },
  deps: { type: 'array', items: { type: 'string' }, description: 'project files (globs) whose content is in the key' },
  env: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] }, description: 'environment variables for the program: in the key' },
  timeout: { type: 'number', exclusiveMinimum: 0, description: 'seconds; the process group is ended after it (not in the key)' },
  threads: { type: 'integer', minimum: 1, description: 'OMP_NUM_THREADS and its kin (not in the key)' },
  deterministic: { type: 'boolean', description: 'false: verify --sample skips it and says so' },
  copy_inputs: { type: 'array', items: { type: 'string' }, description: 'input ports given as a writable copy instead of read-only' },
};

function stageSchema(kinds: string[]): Schema {
  return {
    type: 'object',
    properties: {
      stage: { enum: kinds, description: 'the stage kind (`pipeline ls` lists them)' },
      description: { type: 'string' },
      params: { type: 'object' },
      inputs: { type: 'object', additionalProperties: { $ref: '#/$defs/input' } },
      over: { type: 'array', items: { type: 'string' }, description: 'extra sweep axes for this stage' },
      resources: RESOURCES,
      ...COMMAND_PROPERTIES,
    },
    additionalProperties: false,
    // The params of an entry that names its kind are checked against that kind's specs.
    allOf: [
      ...kinds.map((k) => ({ if: { properties: { stage: { const: k } }, required: ['stage'] }, then: { properties: { params: { $ref: `#/$defs/params/${k}` } } } })),
      // The command keys belong to `stage: command`, which needs a program and its outputs.
      {
        if: { properties: { stage: { const: 'command' } }, required: ['stage'] },
        then: { required: ['outputs'], oneOf: [{ required: ['command'] }, { required: ['shell'] }] },
        else: { not: { anyOf: Object.keys(COMMAND_PROPERTIES).map((k) => ({ required: [k] })) } },
      },
    ],
  };
}

const SWEEP: Schema = {
  type: 'object',
  description: 'axes: every combination becomes a node (for the stages that use them)',
  properties: { repeat: { anyOf: [{ type: 'integer', minimum: 1 }, REFERENCE], description: 'n repeats: axis repeat = 0..n-1' } },
  additionalProperties: { anyOf: [{ type: 'array', minItems: 1 }, { not: { type: 'array' } }] },
};

export function configSchema(stages: Map<string, StageDefinition>): Schema {
  const kinds = [...stages.keys()].sort();
  const stagesMap = (entry: string) => ({ type: 'object', propertyNames: { pattern: '^[A-Za-z_][\\w-]*$' }, additionalProperties: { $ref: entry } });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'pipeline target config (configs/<target>.yml)',
    description: 'Generated by `npx pipeline schema` from the stage kinds\' param specs; do not edit by hand.',
    type: 'object',
    properties: {
      extends: { type: 'string', description: 'deep-merge over another config (maps merge; lists and scalars replace; null deletes a key)' },
      title: { type: 'string' },
      aliases: { type: 'array', items: { type: 'string' } },
      description: { type: 'string', description: 'Markdown; usable in params as ${description}' },
      vars: { type: 'object', description: 'constants, referenced in params as ${name}' },
      sweep: { $ref: '#/$defs/sweep' },
      profiles: {
        type: 'object',
        description: 'named overlays of vars / sweep / stages; `full` is the default',
        additionalProperties: {
          type: 'object',
          properties: { vars: { type: 'object' }, sweep: { $ref: '#/$defs/sweep' }, stages: stagesMap('#/$defs/stage') },
          additionalProperties: false,
        },
      },
      stages: stagesMap('#/$defs/stage'),
      publish: { type: 'string', description: 'the stage whose outputs form reports/<target>/' },
      include: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], description: 'other targets to build too' },
      executor: { enum: ['local', 'slurm'], description: 'where nodes run; --executor and $PIPELINE_EXECUTOR override it' },
      slurm: { type: 'object', description: 'options of the slurm executor (README: Running on a cluster)' },
      remote: {
        type: 'object',
        properties: { url: { type: 'string', description: 'http(s) URL of the remote cache, without credentials' } },
        required: ['url'],
        additionalProperties: false,
        description: 'the remote cache read on a local miss; --remote and $PIPELINE_REMOTE override it (README: Remote cache)',
      },
    },
    additionalProperties: false,
    // A config that extends nothing defines its stages whole: each names its kind.
    if: { not: { required: ['extends'] } },
    then: { properties: { stages: { additionalProperties: { required: ['stage'] } } } },
    $defs: {
      input: INPUT,
      sweep: SWEEP,
      stage: stageSchema(kinds),
      params: Object.fromEntries(kinds.map((k) => [k, k === 'command' ? { type: 'object', description: "the command's own params: any values, referenced in its argv as ${name}" } : paramsSchema(stages.get(k)!)])),
    },
  };
}
