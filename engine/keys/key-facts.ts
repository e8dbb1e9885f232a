/**
 * Key facts: what a stage's import closure uses outside its code (the linear-algebra backend and
 * its threads, the training backend) enters the stage's node keys without the stage declaring it.
 * Modules register their facts (stage-api.ts registerKeyFacts); here they are read, once in the
 * main process to make keys, and once more in the worker that runs a job, which must see the same.
 */
import { KEY_FACTS, type KeyFacts, type StageDefinition } from '../stage-api.ts';

export interface StageFacts {
  /** Fact name -> value, e.g. { linalg: 'native', blas_threads: '1', tfjs_backend: 'wasm' }. */
  facts: Record<string, string>;
  /** Who gave them: the registering modules' names, then "env()" for the stage's own. */
  from: string[];
}

function registry(def: StageDefinition): ReadonlyMap<string, KeyFacts> {
  return ((def as unknown as Record<symbol, unknown>)[KEY_FACTS] as Map<string, KeyFacts> | undefined) ?? new Map();
}

/** Reads every fact of a loaded stage now. Two sources that disagree on a fact are an error. */
export function readStageFacts(def: StageDefinition): StageFacts {
  const facts: Record<string, string> = {};
  const giver: Record<string, string> = {};
  const from: string[] = [];
  const add = (source: string, values: Record<string, string>) => {
    from.push(source);
    for (const [k, v] of Object.entries(values)) {
      if (k in facts && facts[k] !== String(v)) throw new Error(`key fact "${k}" is "${facts[k]}" from ${giver[k]} but "${v}" from ${source}`);
      facts[k] = String(v);
      giver[k] = source;
    }
  };
  for (const [name, read] of [...registry(def)].sort(([a], [b]) => (a < b ? -1 : 1))) add(name, read());
  if (def.env) add('env()', def.env());
  return { facts, from };
}

/**
 * Why a job must not run here: a fact read in this thread differs from the one in the node key
 * (another backend, thread count or version than the key says), or is missing from it.
 */
export function factMismatch(expected: Record<string, string>, here: Record<string, string>): string | undefined {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(here)])].sort();
  const differ = names.filter((k) => expected[k] !== here[k]);
  if (!differ.length) return undefined;
  const show = (v: string | undefined) => (v === undefined ? 'absent' : `"${v}"`);
  const hint = (k: string) => (expected[k] === undefined ? ' (registered by a module the stage imports only inside run: import it at top level)' : '');
  return differ.map((k) => `${k} is ${show(here[k])} here but ${show(expected[k])} in the node key${hint(k)}`).join('; ');
}
