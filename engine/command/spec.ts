/**
 * The `command` stage's own block in a config: any program as a stage. Parsed and checked here at
 * config time (exit 2 with the file and line), so that nothing runs on a config that cannot work.
 *
 *   xcheck:
 *     stage: command
 *     inputs: { data: data }
 *     params: { model: ntk, seed: 3 }
 *     command: [python3, crosscheck/kernel_nc1.py, --model, "${model}", --out, "${out}/nc1.json"]
 *     outputs: [nc1.json]
 *     deps: [crosscheck/lib/*.py]
 *     env: { MY_FLAG: "1" }
 *     timeout: 600
 *     threads: 2
 *     deterministic: true
 *     copy_inputs: [data]
 */
import { describeValue, PipelineError, type Location } from '../errors.ts';
import { isMapping } from '../config/merge.ts';

export interface CommandSpec {
  /** The program as an argv list; `${...}` references are replaced per node. */
  argv?: string[];
  /** A shell string, run by /bin/sh -c (only when the config asks for it with `shell:`). */
  shell?: string;
  /** Output names (relative to the output folder; `*` and `?` match within a name). */
  outputs: string[];
  /** Project files (globs) whose content is in the key. */
  deps: string[];
  /** Declared environment variables: in the key, and the only ones of the caller's kind the program sees. */
  env: Record<string, string>;
  /** Seconds; out of the key. */
  timeout?: number;
  /** OMP_NUM_THREADS and its kin; out of the key. (Per-stage `resources.threads` wins when the plan node has it.) */
  threads?: number;
  deterministic: boolean;
  /** Input ports given as a writable copy instead of the read-only staging. */
  copyInputs: string[];
}

/** The keys of a command stage beside stage, params, inputs, over, description. */
export const COMMAND_KEYS = ['command', 'shell', 'outputs', 'deps', 'env', 'timeout', 'threads', 'deterministic', 'copy_inputs'];

/** References a command line may use besides the node's params. */
export const BUILTIN_REFS = ['out', 'params_file', 'root', 'scratch'];
export const REF = /\$\{([\w.-]+)\}/g;

/** Env names the engine sets itself: a stage may not declare them. */
const RESERVED_ENV = /^(PIPELINE_|PATH$|HOME$|TMPDIR$|PYTHONPATH$|PYTHONDONTWRITEBYTECODE$)/;

/** A relative path that stays inside its folder: no `..` segment, not absolute, no empty segment. */
export function outputPathProblem(name: string): string | undefined {
  if (!name || name.includes('\0')) return 'an output name must be a non-empty path';
  if (name.startsWith('/')) return `output "${name}" must be relative to the output folder, not absolute`;
  const segs = name.split('/');
  if (segs.some((s) => s === '..')) return `output "${name}" leaves the output folder (".." is not allowed)`;
  if (segs.length > 1) return `output "${name}" must be a file name in \${out}, not a path (outputs are flat, as every stage's are)`;
  if (name.startsWith('.') || name === 'meta.json') return `output "${name}" is a name the cache keeps for itself (meta.json, dot files)`;
  if (!/^[\w*?][\w.*?-]*$/.test(name)) return `output "${name}" may hold letters, digits, _ . - and the patterns * ?`;
  return undefined;
}

export function parseCommandSpec(s: Record<string, unknown>, at: (k?: string) => Location): CommandSpec {
  const problem = (k: string, msg: string): never => {
    throw new PipelineError(msg, at(k));
  };
  const stringList = (k: string, v: unknown, nonEmpty: boolean): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) problem(k, `expected a list of strings, got ${describeValue(v)}`);
    const list = (v as unknown[]).map(String);
    if (nonEmpty && !list.length) problem(k, 'expected at least one entry');
    return list;
  };
  if (s.command === undefined && s.shell === undefined) problem('stage', 'a command stage needs `command:` (the program as a list: [python3, script.py, ...]) or `shell:` (a shell string)');
  if (s.command !== undefined && s.shell !== undefined) problem('shell', 'give either `command:` or `shell:`, not both');
  const spec: CommandSpec = { outputs: [], deps: [], env: {}, deterministic: true, copyInputs: [] };
  if (s.command !== undefined) {
    if (typeof s.command === 'string') problem('command', 'expected the program as a list ([python3, script.py, --flag, "${param}"]); a shell string goes in `shell:`');
    spec.argv = stringList('command', s.command, true);
    if (!spec.argv[0]) problem('command', 'the program (first entry) is empty');
  }
  if (s.shell !== undefined) {
    if (typeof s.shell !== 'string' || !s.shell.trim()) problem('shell', `expected a shell command string, got ${describeValue(s.shell)}`);
    spec.shell = s.shell as string;
  }
  spec.outputs = stringList('outputs', s.outputs, true);
  if (s.outputs === undefined) problem('stage', 'a command stage needs `outputs:` (the files it writes into ${out})');
  for (const o of spec.outputs) {
    const p = outputPathProblem(o);
    if (p) problem('outputs', p);
  }
  spec.deps = stringList('deps', s.deps, false);
  for (const d of spec.deps) {
    if (d.startsWith('/') || d.split('/').includes('..')) problem('deps', `deps must name project files (relative, inside the project), got "${d}"`);
  }
  if (s.env !== undefined) {
    if (!isMapping(s.env)) problem('env', `expected a mapping NAME: value, got ${describeValue(s.env)}`);
    for (const [k, v] of Object.entries(s.env as Record<string, unknown>)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) problem('env', `"${k}" is not an environment variable name`);
      if (RESERVED_ENV.test(k)) problem('env', `${k} is set by the engine (PATH, HOME, TMPDIR, PYTHONPATH and PIPELINE_* are not declarable)`);
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') problem('env', `env ${k}: expected a string, got ${describeValue(v)}`);
      spec.env[k] = String(v);
    }
  }
  const positive = (k: string, v: unknown, integer: boolean): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v))) problem(k, `expected a positive ${integer ? 'integer' : 'number'}, got ${describeValue(v)}`);
    return v as number;
  };
  spec.timeout = positive('timeout', s.timeout, false);
  spec.threads = positive('threads', s.threads, true);
  if (s.deterministic !== undefined) {
    if (typeof s.deterministic !== 'boolean') problem('deterministic', `expected true or false, got ${describeValue(s.deterministic)}`);
    spec.deterministic = s.deterministic as boolean;
  }
  spec.copyInputs = stringList('copy_inputs', s.copy_inputs, false);
  return spec;
}

/** The references a command uses (`${model}`, `${inputs.data}`, `${out}`). */
export function commandRefs(spec: CommandSpec): string[] {
  const out = new Set<string>();
  for (const a of spec.argv ?? [spec.shell!]) for (const m of a.matchAll(REF)) out.add(m[1]);
  return [...out];
}

/** Why a reference cannot be resolved for a node with these params and input ports, if it cannot. */
export function refProblem(ref: string, params: Record<string, unknown>, ports: string[]): string | undefined {
  if (BUILTIN_REFS.includes(ref)) return undefined;
  if (ref.startsWith('inputs.')) {
    const port = ref.slice(7);
    return ports.includes(port) ? undefined : `\${${ref}} names no input (inputs: ${ports.join(', ') || 'none'})`;
  }
  if (Object.hasOwn(params, ref)) return undefined;
  return `\${${ref}} names no param of this stage (params: ${Object.keys(params).join(', ') || 'none'}; also \${out}, \${params_file}, \${root}, \${scratch}, \${inputs.<port>})`;
}
