/**
 * Content-addressed store of node outputs, safe for many processes on many hosts sharing one
 * folder (e.g. over NFS).
 *
 *   CACHEDIR.TAG                marks the folder as a pipeline cache (clean and gc refuse others)
 *   objects/<k[0:2]>/<key>/     meta.json + output files; complete or absent, never partial
 *   staging/<owner>/<key>.<n>/  where a process writes a node; renamed into objects/ when complete
 *   trash/<owner>.<n>/          an entry on its way out: renamed out of objects/ first, then deleted
 *   locks/<key>                 the lease of the process computing that key (leases.ts)
 *   runs/<owner>.json           the lease of each live run, gc, exec or verify on this cache
 *   refs/                       run history (store/history.ts)
 *
 * <owner> is host~boot~pid~start (store/owner.ts). Commit and removal are renames within the
 * cache folder: they are atomic as long as the whole cache is one filesystem (on NFS, rename is
 * atomic on the server; a client that crashes mid-rename leaves the old or the new name).
 */
import type { CommandJob } from '../command/run.ts';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../errors.ts';
import { sha256 } from '../keys/hash.ts';
import type { KeyRecord } from '../keys/key.ts';
import { isSafeOutputName, type InputRef, type JobInputs, type OutputFile, type RecordedInputs } from './outputs.ts';
import { syncDirAsync, writeFileDurableAsync } from './files.ts';
import { metaStamp, RunHistory, type LastRunEntry, type RunRef } from './history.ts';
import { acquireLease, describeHolder, inspectLease, leaseSeconds, releaseLease, type LeaseRole, type LeaseState } from './leases.ts';
import { localLiveness, ownerTag, parseOwnerTag, self } from './owner.ts';

export type { RunRef } from './history.ts';
export { isSafeOutputName, outputsDigest, type OutputFile } from './outputs.ts';

/** Where and how a node ran, when not in the run's own process (e.g. a Slurm job). */
export interface ExecutorRecord {
  name: string;
  job?: string;
  /** The machine's host name as the job saw it (os.hostname()). */
  host?: string;
  /** The Slurm node the job ran on (SLURMD_NODENAME; several nodes may share one host). */
  node?: string;
  log?: string;
  /** The job's final state when it did not commit the node (TIMEOUT, CANCELLED, ...). */
  state?: string;
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
  executor?: ExecutorRecord;
  /** An entry pulled from a remote cache: from where, signed by whom (key fingerprint), when. */
  origin?: { remote: string; signer: string; pulled: string };
  /** A command node: how it ran (program, outputs, env), so that verify --sample can run it again. */
  command?: CommandJob;
}

const CACHE_TAG = 'Signature: 8a477f597d28d172789f06886806bc55\n# A pipeline cache (content-addressed node outputs). See its README.\n';

export type LockResult = { release: () => void } | { held: Extract<LeaseState, { state: 'live' }> };

export interface LiveLease {
  tag: string;
  role: LeaseRole;
  description: string;
}

export class Cache {
  private count = 0;
  private readonly history: RunHistory;
  private created = false;
  /** Set by read-only commands (plan, show): a damaged entry is then reported absent, not removed. */
  readOnly = false;

  constructor(readonly dir: string) {
    this.history = new RunHistory(join(dir, 'refs'));
  }

  /** Creates the cache folder with its tag on first write. */
  ensure(): void {
    if (this.created) return;
    // A subfolder first: a cache path that is a file then fails as ENOTDIR, which says what is wrong.
    mkdirSync(join(this.dir, 'locks'), { recursive: true });
    const tag = join(this.dir, 'CACHEDIR.TAG');
    if (!existsSync(tag)) writeFileSync(tag, CACHE_TAG);
    this.created = true;
  }

  /** A folder clean and gc may act on: tagged, or laid out as a cache of an older version. */
  static isCache(dir: string): boolean {
    if (existsSync(join(dir, 'CACHEDIR.TAG'))) return readFileSync(join(dir, 'CACHEDIR.TAG'), 'utf8').includes('pipeline cache');
    if (!existsSync(join(dir, 'objects'))) return false;
    const known = new Set(['objects', 'staging', 'locks', 'refs', 'runs', 'trash', 'logs', 'jobs', 'deps', 'probes', 'pyast']);
    return readdirSync(dir).every((f) => known.has(f));
  }

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

  /** The entry's meta, or undefined when absent or not a meta this version can trust. */
  readMeta(key: string): NodeMeta | undefined {
    let meta: NodeMeta;
    try {
      meta = JSON.parse(readFileSync(`${this.entryDir(key)}/meta.json`, 'utf8')) as NodeMeta;
    } catch {
      return undefined;
    }
    if (typeof meta !== 'object' || meta === null || meta.key !== key || typeof meta.outputs !== 'object' || meta.outputs === null) return undefined;
    if (!Object.keys(meta.outputs).every(isSafeOutputName)) return undefined;
    return meta;
  }

  /**
   * The entry's meta after a cheap check of its outputs (each file there, with the size the meta
   * records). A damaged entry is moved out of objects/ and reported as absent: it is recomputed.
   */
  checkedMeta(key: string): NodeMeta | undefined {
    const meta = this.readMeta(key);
    if (!meta) {
      if (!this.readOnly && existsSync(this.entryDir(key))) this.remove(key);
      return undefined;
    }
    const dir = this.entryDir(key);
    for (const [name, f] of Object.entries(meta.outputs)) {
      let size = -1;
      try {
        size = statSync(`${dir}/${name}`).size;
      } catch {
        // missing
      }
      if (size !== f.bytes) {
        if (!this.readOnly) this.remove(key);
        return undefined;
      }
    }
    return meta;
  }

  newStagingDir(key: string): string {
    this.ensure();
    const dir = join(this.dir, 'staging', ownerTag(self()), `${key}.${this.count++}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /**
   * Writes meta.json last (durably, with the staging folder's entries), then renames the whole
   * folder into place in one step and makes the rename durable. The fsyncs run off the event loop.
   */
  async commit(staging: string, meta: NodeMeta): Promise<void> {
    await writeFileDurableAsync(join(staging, 'meta.json'), JSON.stringify(meta, null, 1));
    await syncDirAsync(staging);
    const dest = this.entryDir(meta.key);
    const shard = join(dest, '..');
    mkdirSync(shard, { recursive: true });
    try {
      renameSync(staging, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Another process committed the same key first; its bytes are the same computation.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      rmSync(staging, { recursive: true, force: true });
      return;
    }
    await syncDirAsync(shard);
  }

  discard(staging: string): void {
    rmSync(staging, { recursive: true, force: true });
  }

  /** Moves an entry out of objects/ in one rename, then deletes it: never a half entry in objects/. */
  remove(key: string): void {
    this.ensure();
    const trash = join(this.dir, 'trash');
    mkdirSync(trash, { recursive: true });
    const aside = join(trash, `${ownerTag(self())}.${this.count++}`);
    try {
      renameSync(this.entryDir(key), aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    rmSync(aside, { recursive: true, force: true });
  }

  private lockPath(key: string): string {
    return join(this.dir, 'locks', key);
  }

  /** Takes the lock of a key (taking over a stale one), or says who holds it. */
  lock(key: string, what?: string): LockResult {
    this.ensure();
    mkdirSync(join(this.dir, 'locks'), { recursive: true });
    const path = this.lockPath(key);
    const held = acquireLease(path, 'lock', what);
    if (held) return { held };
    return { release: () => releaseLease(path) };
  }

  /** The state of a key's lock without taking it. */
  lockState(key: string): LeaseState {
    return inspectLease(this.lockPath(key));
  }

  describeLock(s: LeaseState): string {
    return describeHolder(s);
  }

  /** Registers this process as a user of the cache (a run, gc, exec, verify): see liveLeases. */
  openLease(role: LeaseRole, what?: string): () => void {
    this.ensure();
    const dir = join(this.dir, 'runs');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${ownerTag(self())}.json`);
    if (acquireLease(path, role, what)) throw new Error(`${path} is held by another process with this process's identity`);
    return () => {
      // What this process staged and did not commit is garbage once it stops using the cache.
      rmSync(join(this.dir, 'staging', ownerTag(self())), { recursive: true, force: true });
      releaseLease(path);
    };
  }

  /**
   * openLease, except on a cache this process cannot write (a read-only cache can still serve a
   * no-op run; anything that must run then fails with the filesystem's reason).
   */
  openLeaseIfWritable(role: LeaseRole, what?: string): () => void {
    try {
      return this.openLease(role, what);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return () => {};
      throw e;
    }
  }

  /** Live leases of other processes on this cache (stale ones are removed on the way). */
  liveLeases(): LiveLease[] {
    const dir = join(this.dir, 'runs');
    if (!existsSync(dir)) return [];
    const me = ownerTag(self());
    const out: LiveLease[] = [];
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.json') || f.startsWith(me)) continue;
      const s = inspectLease(join(dir, f));
      if (s.state === 'stale') rmSync(join(dir, f), { force: true });
      else if (s.state === 'live' && s.holder) out.push({ tag: f.slice(0, -5), role: s.holder.role, description: describeHolder(s) });
    }
    return out;
  }

  /** Whether the owner of a staging or trash folder may still be using it. */
  private ownerMayBeAlive(tag: string): boolean {
    const owner = parseOwnerTag(tag);
    if (!owner) return false;
    const l = localLiveness(owner);
    if (l !== 'remote') return l === 'alive';
    // Another host: its run lease says whether it is alive (it is taken before any staging).
    return inspectLease(join(this.dir, 'runs', `${tag}.json`)).state === 'live';
  }

  /**
   * Removes what processes that ended mid-node left behind: their staging folders and trash,
   * and the locks of keys whose entries are complete. Never touches a live process's folders.
   */
  sweep(): { staging: number; trash: number; locks: number } {
    const removed = { staging: 0, trash: 0, locks: 0 };
    const staging = join(this.dir, 'staging');
    if (existsSync(staging)) {
      for (const name of readdirSync(staging)) {
        if (this.ownerMayBeAlive(name)) continue;
        // Folders of an older version (<key>.<pid>.<n>) have no owner record: gone after a lease.
        if (!parseOwnerTag(name) && Date.now() - mtimeMs(join(staging, name)) < 1000 * leaseSeconds()) continue;
        rmSync(join(staging, name), { recursive: true, force: true });
        removed.staging++;
      }
    }
    const trash = join(this.dir, 'trash');
    if (existsSync(trash)) {
      for (const name of readdirSync(trash)) {
        if (this.ownerMayBeAlive(name.replace(/\.\d+$/, ''))) continue;
        rmSync(join(trash, name), { recursive: true, force: true });
        removed.trash++;
      }
    }
    const locks = join(this.dir, 'locks');
    if (existsSync(locks)) {
      for (const name of readdirSync(locks)) {
        if (name.includes('.')) {
          // a lease's temp or aside file left by a process that died between two calls
          if (Date.now() - mtimeMs(join(locks, name)) > 1000 * leaseSeconds()) rmSync(join(locks, name), { force: true });
          continue;
        }
        const s = inspectLease(join(locks, name));
        if (s.state === 'stale' || (s.state === 'live' && !s.holder && this.hasEntry(name))) {
          rmSync(join(locks, name), { force: true });
          removed.locks++;
        }
      }
    }
    return removed;
  }

  *keys(): Generator<string> {
    const root = join(this.dir, 'objects');
    if (!existsSync(root)) return;
    for (const shard of readdirSync(root)) for (const key of readdirSync(join(root, shard))) yield key;
  }

  entryBytes(key: string): number {
    const dir = this.entryDir(key);
    let total = 0;
    try {
      for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
    } catch {
      // removed meanwhile
    }
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
    return this.history.readRefs(target);
  }

  allRefs(): Record<string, RunRef[]> {
    return this.history.allRefs();
  }

  readLastRun(target: string): Map<string, LastRunEntry> {
    return this.history.readLastRun(target);
  }

  /** The stamp of an entry's meta.json bound to a key and digest (store/history.ts), or undefined when absent. */
  metaStamp(key: string, digest: string): string | undefined {
    return metaStamp(`${this.entryDir(key)}/meta.json`, key, digest);
  }

  addRun(target: string, run: RunRef, digests: Record<string, string>): void {
    this.ensure();
    this.history.addRun(target, run, digests, (key, digest) => this.metaStamp(key, digest));
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** A cache that clean/gc may act on, or a clear refusal. */
export function requireCache(dir: string): void {
  if (!existsSync(dir)) throw new PipelineError(`${dir} does not exist: nothing to do`);
  if (!Cache.isCache(dir)) throw new PipelineError(`${dir} is not a pipeline cache (no CACHEDIR.TAG of pipeline, and not laid out as one): refusing to touch it`);
}
