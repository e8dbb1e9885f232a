/** Reads and writes stage outputs as files: *.f64 raw little-endian float64, *.json, anything else text/bytes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, sha256 } from '../keys/hash.ts';
import { isF64, type F64Array, type InputHandle, type StageOutputs } from '../stage-api.ts';
import { writeFileDurable } from './files.ts';

export interface OutputFile {
  bytes: number;
  sha256: string;
  shape?: number[];
}

/** Output names are plain file names: a meta that says otherwise is damaged or hostile. */
export function isSafeOutputName(name: string): boolean {
  return /^\w[\w.-]*$/.test(name) && name !== 'meta.json' && !name.includes('..');
}

export function outputsDigest(outputs: Record<string, OutputFile>): string {
  return sha256(canonicalJson(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.sha256]))));
}

/**
 * An input whose bytes differ from the digest its meta records: the entry is damaged. Carries the
 * entry's key so that the scheduler can remove it, recompute it, and run the reader again.
 */
export class CorruptInputError extends Error {
  constructor(
    readonly key: string,
    readonly output: string,
    readonly nodeId: string,
  ) {
    super(`input ${nodeId} (${key.slice(0, 12)}): ${output} does not match the digest in its meta (damaged cache entry)`);
    this.name = 'CorruptInputError';
  }
}

function encode(name: string, value: unknown): { bytes: Uint8Array; shape?: number[] } {
  if (name.endsWith('.f64')) {
    if (!isF64(value)) throw new Error(`output ${name}: expected f64(shape, Float64Array)`);
    // Native byte order is little-endian on every platform Node supports for this project (x64, arm64).
    return { bytes: new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength), shape: value.shape };
  }
  if (name.endsWith('.json')) return { bytes: Buffer.from(`${JSON.stringify(value, null, 1)}\n`) };
  if (typeof value === 'string') return { bytes: Buffer.from(value) };
  if (value instanceof Uint8Array) return { bytes: value };
  throw new Error(`output ${name}: expected a string or bytes (name it *.json for data, *.f64 for arrays)`);
}

export function writeOutputs(dir: string, outputs: StageOutputs): Record<string, OutputFile> {
  if (typeof outputs !== 'object' || outputs === null) throw new Error('a stage must return an object of named outputs');
  const files: Record<string, OutputFile> = {};
  for (const name of Object.keys(outputs).sort()) {
    if (!isSafeOutputName(name)) throw new Error(`output name "${name}" must be a plain file name (not meta.json)`);
    const { bytes, shape } = encode(name, outputs[name]);
    writeFileDurable(join(dir, name), bytes);
    files[name] = { bytes: bytes.byteLength, sha256: sha256(bytes), ...(shape ? { shape } : {}) };
  }
  return files;
}

/** An upstream cache entry under the name its reader knows it by: what a node's meta records of each input. */
export interface InputIdentity {
  key: string;
  id: string;
  stage: string;
  coords: Record<string, unknown>;
}

export interface InputRef extends InputIdentity {
  dir: string;
  outputs: Record<string, OutputFile>;
}

export type JobInputs = Record<string, { gather: boolean; refs: InputRef[] }>;
export type RecordedInputs = Record<string, { gather: boolean; refs: InputIdentity[] }>;

/** What a job read, without where: enough to re-execute the node from the cache (verify --sample). */
export function recordInputs(inputs: JobInputs): RecordedInputs {
  return Object.fromEntries(
    Object.entries(inputs).map(([port, inp]) => [port, { gather: inp.gather, refs: inp.refs.map(({ key, id, stage, coords }) => ({ key, id, stage, coords })) }]),
  );
}

/**
 * A stage's view of one upstream entry. With `verify`, every file read is hashed and compared
 * with the digest its meta records before the stage sees a byte of it (sha256 costs ~2 ms a MB).
 */
export function inputHandle(ref: InputRef, verify = true): InputHandle {
  const read = (name: string): Buffer => {
    if (!(name in ref.outputs) || !isSafeOutputName(name)) throw new Error(`input ${ref.id} has no output "${name}" (it has: ${Object.keys(ref.outputs).join(', ')})`);
    let buf: Buffer;
    try {
      buf = readFileSync(join(ref.dir, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptInputError(ref.key, name, ref.id);
      throw e;
    }
    if (verify && sha256(buf) !== ref.outputs[name].sha256) throw new CorruptInputError(ref.key, name, ref.id);
    return buf;
  };
  return {
    id: ref.id,
    stage: ref.stage,
    coords: ref.coords,
    outputs: Object.keys(ref.outputs),
    array(name: string): F64Array {
      const buf = read(name);
      const data = new Float64Array(buf.byteLength / 8);
      new Uint8Array(data.buffer).set(buf);
      return { shape: ref.outputs[name].shape ?? [data.length], data };
    },
    json<T>(name: string): T {
      return JSON.parse(read(name).toString('utf8')) as T;
    },
    text(name: string): string {
      return read(name).toString('utf8');
    },
  };
}
