/**
 * What a stage module exports: `export default defineStage({...})`.
 *
 * A stage is a pure function of its params and inputs. Outputs are named like files: `*.f64` is
 * a float64 array, `*.json` any JSON value, anything else (svg, md, csv) text or bytes.
 */

/**
 * `file`: a path relative to the project root; the engine checks it exists and puts its content
 * hash in the node key, so editing the file reruns the node. The stage receives {path, sha256}
 * and opens it with ctx.file().
 */
export type ParamType = 'number' | 'integer' | 'string' | 'boolean' | 'number[]' | 'integer[]' | 'string[]' | 'file' | 'any';

export interface FileParam {
  path: string;
  sha256: string;
}

export interface ParamSpec {
  type: ParamType;
  doc: string;
  default?: unknown;
  /** Allowed values. */
  enum?: readonly (string | number | boolean)[];
  /** Inclusive lower bound (for numbers, and every element of number lists). */
  min?: number;
  /** Exclusive lower bound. */
  greaterThan?: number;
  max?: number;
  /** Why `max` is what it is (e.g. what would not fit in memory); said when a value exceeds it. */
  maxReason?: string;
  /** Param may be absent and has no default (the stage handles undefined). */
  optional?: boolean;
}

export interface InputSpec {
  doc: string;
  /**
   * Outputs this stage reads from the input (e.g. X.f64, y.f64, data.json). Where the upstream
   * stage declares its `outputs`, wiring it here is checked at plan time.
   */
  needs?: readonly string[];
  /** The input is a list of upstream nodes (a `gather: true` edge). */
  gather?: boolean;
  optional?: boolean;
}

export interface F64Array {
  shape: number[];
  data: Float64Array;
}

export type OutputValue = F64Array | string | Uint8Array | unknown;
export type StageOutputs = Record<string, OutputValue>;

/** One upstream node's outputs, read lazily from the cache. */
export interface InputHandle {
  /** Node id, e.g. "data[N=128,d0=1,repeat=0]". */
  id: string;
  /** Config stage name of the upstream node, e.g. "nngp". */
  stage: string;
  /** Sweep coordinates of the upstream node. */
  coords: Record<string, unknown>;
  /** Output names, e.g. ["X.f64", "meta.json"]. */
  outputs: string[];
  array(name: string): F64Array;
  json<T = unknown>(name: string): T;
  text(name: string): string;
}

export interface StageContext<P> {
  params: P;
  inputs: Record<string, InputHandle | InputHandle[] | undefined>;
  /** Reports progress in [0, 1] with an optional note ("epoch 10/1000"). */
  progress(fraction: number, note?: string): void;
  log(message: string): void;
  /** Absolute path of a `file` param, after checking its content still has the recorded hash. */
  file(param: FileParam): string;
}

export interface ParamProblem {
  key: string;
  message: string;
}

/** A problem inside a data file; 1-based line and column. The message never quotes the file. */
export interface FileProblem {
  message: string;
  /** Set when the problem is another param's (e.g. `targets` does not fit the file's classes). */
  param?: string;
  line?: number;
  column?: number;
}

export interface StageDefinition<P = Record<string, any>> {
  description: string;
  params: Record<string, ParamSpec>;
  inputs?: Record<string, InputSpec>;
  /** Cross-parameter checks (e.g. N divisible by the class count); run at config time. */
  check?(params: P): ParamProblem | undefined;
  /**
   * Reads a `file` param's content at plan time, so that bad data is a located error (exit 2)
   * before anything runs. `param` names the file param; `params` are the node's other params.
   */
  checkFile?(param: string, content: Uint8Array, params: P): FileProblem | undefined;
  /** Names of the outputs every node writes (X.f64, data.json); inputs' `needs` are checked against them. */
  outputs?: readonly string[];
  /**
   * Facts outside the code that change the numbers, for a project's own stage. Modules shared by
   * stages register theirs instead (registerKeyFacts), so that no stage can forget them.
   */
  env?(): Record<string, string>;
  /** Pins the code fingerprint: edits to the module no longer invalidate its outputs. */
  version?: string;
  /**
   * Cheap bookkeeping (tables, plots, reports, small data): a cluster executor runs such nodes in
   * the driver's own worker threads instead of paying a job's queueing for them (Snakemake's
   * localrules). Never changes what a node computes.
   */
  light?: boolean;
  run(ctx: StageContext<P>): Promise<StageOutputs> | StageOutputs;
}

/** How to read a module's key facts now, e.g. () => ({ linalg: 'native', blas_threads: '1' }). */
export type KeyFacts = () => Record<string, string>;

/**
 * The key facts registered by the modules of this stage's import closure. Each stage is its own
 * bundle with its own copy of this module, so this registry holds exactly the registrations of the
 * modules that stage imports.
 */
const registeredKeyFacts = new Map<string, KeyFacts>();

/** Where defineStage leaves the registry for the engine (a symbol shared by every bundle's copy). */
export const KEY_FACTS = Symbol.for('pipeline.keyFacts');

/**
 * Puts facts outside the code that change a module's numbers (which backend, how many threads)
 * into the key of every stage that imports the module, directly or not: call it once at the
 * module's top level, e.g. `registerKeyFacts('linear algebra', () => backend().env)`. The engine
 * reads the facts when it loads the stage (in the main process) and again in the job's worker,
 * which refuses to run the job when they differ from the key's.
 */
export function registerKeyFacts(name: string, facts: KeyFacts): void {
  registeredKeyFacts.set(name, facts);
}

/** The TypeScript type of one param, read off its spec: what `run` receives. */
type ParamValue<S extends ParamSpec> = S['enum'] extends readonly (infer E)[]
  ? S['type'] extends `${string}[]`
    ? E[]
    : E
  : S['type'] extends 'number' | 'integer'
    ? number
    : S['type'] extends 'string'
      ? string
      : S['type'] extends 'boolean'
        ? boolean
        : S['type'] extends 'number[]' | 'integer[]'
          ? number[]
          : S['type'] extends 'string[]'
            ? string[]
            : S['type'] extends 'file'
              ? FileParam
              : unknown;

/** Params that may be absent: optional and without a default. */
type AbsentKeys<S extends Record<string, ParamSpec>> = { [K in keyof S]: S[K] extends { optional: true } ? (S[K] extends { default: unknown } ? never : K) : never }[keyof S];

/**
 * The params a stage's `run` receives, derived from its spec: a stage declares each param once
 * (type, bounds, default, doc) and its code is typed from that declaration.
 */
export type ParamsOf<S extends Record<string, ParamSpec>> = { -readonly [K in Exclude<keyof S, AbsentKeys<S>>]: ParamValue<S[K]> } & {
  -readonly [K in AbsentKeys<S>]?: ParamValue<S[K]>;
};

/** The params type of a defined stage (for helpers outside `run`). */
export type StageParams<D> = D extends StageDefinition<infer P> ? P : never;

/**
 * Declares a stage. Its params' types come from the spec (`params: { N: { type: 'integer', ... } }`
 * gives run a `params.N: number`); a stage that needs a hand-written type may still pass one.
 */
export function defineStage<const S extends Record<string, ParamSpec>>(def: StageDefinition<ParamsOf<S>> & { params: S }): StageDefinition<ParamsOf<S>>;
export function defineStage<P>(def: StageDefinition<P>): StageDefinition<P>;
export function defineStage<P = Record<string, any>>(def: StageDefinition<P>): StageDefinition<P> {
  // A live view: a module registering later (imported lazily inside run) still shows up, and
  // the worker's check catches it.
  Object.defineProperty(def, KEY_FACTS, { value: registeredKeyFacts, enumerable: false });
  return def;
}

/** The single node behind a non-gathered input. */
export function single(h: InputHandle | InputHandle[] | undefined, port = 'input'): InputHandle {
  if (!h || Array.isArray(h)) throw new Error(`input "${port}" must be one node`);
  return h;
}

/** The nodes behind a gathered input (an absent optional input is an empty list). */
export function gathered(h: InputHandle | InputHandle[] | undefined): InputHandle[] {
  if (!h) return [];
  return Array.isArray(h) ? h : [h];
}

export function f64(shape: number[], data: Float64Array): F64Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new RangeError(`shape [${shape}] needs ${size} values, got ${data.length}`);
  return { shape, data };
}

export function isF64(v: unknown): v is F64Array {
  return typeof v === 'object' && v !== null && (v as F64Array).data instanceof Float64Array && Array.isArray((v as F64Array).shape);
}
