/**
 * Content-addressed store of node outputs.
 *
 *   objects/<k[0:2]>/<key>/   meta.json + output files; complete or absent, never partial
 *   staging/<key>.<pid>.<n>/  where a node writes; renamed into objects/ only when complete
 *   locks/<key>               held by the process computing that key (pid inside)
 *   refs/<target>.json        the keys of each node in the last runs (explain, gc --keep-last)
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, sha256 } from './hash.ts';
import type { KeyRecord } from './key.ts';
import type { InputRef, JobInputs, RecordedInputs } from './outputs.ts';

export interface OutputFile {
  bytes: number;
  sha256: string;
  shape?: number[];
}

export interface NodeMeta {
  key: string;
  id: string;
  stage: string;
  kind: string;
  record: KeyRecord;
  /** The upstream entries the job read, per input port, under the names it saw them by. */
  inputs: RecordedInputs;
  outputs: Record<string, OutputFile>;
  /** Digest of all outputs: what downstream keys depend on. */
  digest: string;
  seconds: number;
  created: string;
  log: string[];
}

export interface RunRef {
  time: string;
  profile: string;
  nodes: Record<string, string>;
}

const MAX_RUNS_KEPT = 20;

export function outputsDigest(outputs: Record<string, OutputFile>): string {
  return sha256(canonicalJson(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.sha256]))));
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Cache {
  private stagingCount = 0;

  constructor(readonly dir: string) {}

  entryDir(key: string): string {
    // Concatenation, not path.join: a no-op run builds thousands of these.
    return `${this.dir}/objects/${key.slice(0, 2)}/${key}`;
  }

  /**
   * Where a job reads an upstream entry's outputs, seen as the node `as` (two nodes with other
   * names may share one entry: the reader sees its own upstream's id, stage and coordinates).
   */
  inputRef(meta: NodeMeta, as: { id: string; stage: string; coords: Record<string, unknown> }): InputRef {
    return { key: meta.key, id: as.id, stage: as.stage, coords: as.coords, dir: this.entryDir(meta.key), outputs: meta.outputs };
  }

  /** A finished node's inputs as its job saw them, or undefined when an upstream entry is gone. */
  recordedJobInputs(meta: NodeMeta): JobInputs | undefined {
    const inputs: JobInputs = {};
    for (const [port, inp] of Object.entries(meta.inputs)) {
      const refs: InputRef[] = [];
      for (const r of inp.refs) {
        const up = this.readMeta(r.key);
        if (!up) return undefined;
        refs.push(this.inputRef(up, r));
      }
      inputs[port] = { gather: inp.gather, refs };
    }
    return inputs;
  }

  hasEntry(key: string): boolean {
    return existsSync(`${this.entryDir(key)}/meta.json`);
  }

  readMeta(key: string): NodeMeta | undefined {
    try {
      return JSON.parse(readFileSync(join(this.entryDir(key), 'meta.json'), 'utf8')) as NodeMeta;
    } catch {
      return undefined;
    }
  }

  newStagingDir(key: string): string {
    const dir = join(this.dir, 'staging', `${key}.${process.pid}.${this.stagingCount++}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Writes meta.json last, then renames the whole folder into place in one step. */
  commit(staging: string, meta: NodeMeta): void {
    writeFileSync(join(staging, 'meta.json'), JSON.stringify(meta, null, 1));
    const dest = this.entryDir(meta.key);
    mkdirSync(join(dest, '..'), { recursive: true });
    try {
      renameSync(staging, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Another process committed the same key first; its bytes are the same computation.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      rmSync(staging, { recursive: true, force: true });
    }
  }

  discard(staging: string): void {
    rmSync(staging, { recursive: true, force: true });
  }

  /** Takes the lock of a key, or returns undefined while a live process holds it. */
  tryLock(key: string): (() => void) | undefined {
    const dir = join(this.dir, 'locks');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, key);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return () => rmSync(path, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = Number(readText(path));
        // A lock whose process died (kill -9, power loss) is stale: take it over.
        if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) return undefined;
        if (!holder && Date.now() - mtime(path) < 2000) return undefined; // being written right now
        rmSync(path, { force: true });
      }
    }
    return undefined;
  }

  /** Removes staging folders left by processes that died mid-node. */
  sweepStaging(): number {
    const dir = join(this.dir, 'staging');
    if (!existsSync(dir)) return 0;
    let removed = 0;
    for (const name of readdirSync(dir)) {
      const pid = Number(name.split('.')[1]);
      if (!pidAlive(pid)) {
        rmSync(join(dir, name), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  *keys(): Generator<string> {
    const root = join(this.dir, 'objects');
    if (!existsSync(root)) return;
    for (const shard of readdirSync(root)) for (const key of readdirSync(join(root, shard))) yield key;
  }

  remove(key: string): void {
    rmSync(this.entryDir(key), { recursive: true, force: true });
  }

  entryBytes(key: string): number {
    const dir = this.entryDir(key);
    let total = 0;
    for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
    return total;
  }

  /** Re-hashes every output of an entry; returns the names whose bytes no longer match. */
  corruptOutputs(key: string): string[] {
    const meta = this.readMeta(key);
    if (!meta) return ['meta.json'];
    const bad: string[] = [];
    for (const [name, f] of Object.entries(meta.outputs)) {
      try {
        if (sha256(readFileSync(join(this.entryDir(key), name))) !== f.sha256) bad.push(name);
      } catch {
        bad.push(name);
      }
    }
    return bad;
  }

  readRefs(target: string): RunRef[] {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'refs', `${target}.json`), 'utf8')) as RunRef[];
    } catch {
      return [];
    }
  }

  allRefs(): Record<string, RunRef[]> {
    const dir = join(this.dir, 'refs');
    if (!existsSync(dir)) return {};
    return Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.last.json')).map((f) => [f.slice(0, -5), this.readRefs(f.slice(0, -5))]));
  }

  /** The last run of a target: node id -> [key, output digest] (small: a no-op run reads only this). */
  readLastRun(target: string): Map<string, { key: string; digest: string }> {
    try {
      const doc = JSON.parse(readFileSync(join(this.dir, 'refs', `${target}.last.json`), 'utf8')) as Record<string, [string, string]>;
      return new Map(Object.entries(doc).map(([id, [key, digest]]) => [id, { key, digest }]));
    } catch {
      return new Map();
    }
  }

  /** Records a run: the history (explanations, gc --keep-last) and the last-run summary. */
  addRun(target: string, run: RunRef, digests: Record<string, string>): void {
    const dir = join(this.dir, 'refs');
    mkdirSync(dir, { recursive: true });
    const last = Object.fromEntries(Object.entries(run.nodes).map(([id, key]) => [id, [key, digests[id]]]));
    const lastPath = join(dir, `${target}.last.json`);
    writeFileSync(`${lastPath}.${process.pid}.tmp`, JSON.stringify(last));
    renameSync(`${lastPath}.${process.pid}.tmp`, lastPath);
    const runs = [run, ...this.readRefs(target)].slice(0, MAX_RUNS_KEPT);
    const path = join(dir, `${target}.json`);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(runs));
    renameSync(tmp, path);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
