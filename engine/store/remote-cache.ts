/**
 * Cache entries to and from a remote server (remote-http.ts), with signatures (signing.ts).
 *
 * Fetch: the manifest /ac/<key> is checked before any file is asked for (signed by a trusted
 * key; its key is the hash of its own key record; its digest is that of its outputs), then each
 * output is streamed from /cas/<sha256> into a staging folder of the local cache, hashed on the
 * way, and the entry is committed through the cache's staging+rename: whole or absent. Any
 * problem (missing, truncated, mismatched, unsigned, unknown signer, server gone) is a miss
 * with one warning per kind of problem, never a failure and never a local entry.
 *
 * Push: files first (skipping what HEAD already has whole, and restoring objects evicted from
 * under a manifest), the signed manifest last, and never over a manifest the server already has
 * (one key is one computation: the first trusted writer's entry stays). Two writers racing on one
 * key between HEAD and PUT both write a whole, signed manifest of the same computation; the
 * server's rename keeps one.
 */
import { existsSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Cache, NodeMeta } from './cache.ts';
import { makeKey } from '../keys/key.ts';
import { isSafeOutputName, outputsDigest } from './outputs.ts';
import { HttpRemote, RemoteDown, type Download } from './remote-http.ts';
import { checkSignature, signManifest, type Manifest } from './signing.ts';

/**
 * Says a kind of problem once (the first instance), counts the rest: a server with a hundred
 * truncated objects is one line, not a hundred; different problems are each said.
 */
export class Warnings {
  private readonly seen = new Map<string, number>();
  constructor(private readonly write: (line: string) => void) {}

  warn(kind: string, message: string): void {
    const n = this.seen.get(kind) ?? 0;
    this.seen.set(kind, n + 1);
    if (n === 0) this.write(`warning: remote cache: ${message}\n`);
  }

  count(kind?: string): number {
    if (kind) return this.seen.get(kind) ?? 0;
    return [...this.seen.values()].reduce((a, b) => a + b, 0);
  }

  kinds(): string[] {
    return [...this.seen.keys()];
  }
}

export interface TransferStats {
  entries: number;
  files: number;
  bytes: number;
  skipped: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Why a manifest cannot describe the entry of `key`, or undefined when it can. */
function manifestProblem(m: unknown, key: string): string | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'not a JSON object';
  const x = m as Partial<Manifest> & { unparsable?: boolean };
  if (x.unparsable) return 'not JSON';
  if (x.key !== key) return `names key ${String(x.key).slice(0, 12)}`;
  if (typeof x.outputs !== 'object' || x.outputs === null) return 'has no outputs';
  for (const [name, f] of Object.entries(x.outputs)) {
    if (!isSafeOutputName(name)) return `output "${name.slice(0, 40)}" is not a plain file name`;
    if (!f || typeof f.sha256 !== 'string' || !HEX64.test(f.sha256) || !Number.isSafeInteger(f.bytes) || f.bytes < 0) return `output ${name} has no sha256 and byte count`;
  }
  if (x.digest !== outputsDigest(x.outputs)) return 'its digest is not that of its outputs';
  // The key is content-complete: a manifest whose key record does not hash to its key describes
  // another computation.
  try {
    if (!x.record?.parts || makeKey(x.record.parts) !== key) return 'its key record does not hash to its key';
  } catch {
    return 'its key record is malformed';
  }
  return undefined;
}

export interface RemoteCacheOptions {
  /** Readers: public keys by fingerprint; a manifest signed by any other key is a miss. */
  trusted?: Map<string, KeyObject>;
  /** Writers: the private key manifests are signed with. */
  writer?: { key: KeyObject; signer: string };
  warnings: Warnings;
  /** A label for origin.remote in pulled metas (the server's address, no credentials). */
  label?: string;
}

export class RemoteCache {
  readonly pulled: TransferStats = { entries: 0, files: 0, bytes: 0, skipped: 0 };
  readonly pushed: TransferStats = { entries: 0, files: 0, bytes: 0, skipped: 0 };
  /** Bytes moved so far, either way (progress). */
  bytesMoved = 0;

  constructor(
    readonly http: HttpRemote,
    private readonly cache: Cache,
    private readonly opts: RemoteCacheOptions,
  ) {}

  get warnings(): Warnings {
    return this.opts.warnings;
  }

  private downWarning(e: unknown): undefined {
    if (e instanceof RemoteDown) this.opts.warnings.warn('down', `${e.message}: going on without it`);
    else this.opts.warnings.warn('error', `${(e as Error).message}: treated as a miss`);
    return undefined;
  }

  /** The entry of `key` fetched into the local cache, or undefined (a miss). */
  async fetch(key: string): Promise<NodeMeta | undefined> {
    if (this.http.down || !this.opts.trusted) return undefined;
    let raw: unknown;
    try {
      raw = await this.http.getJson(`ac/${key}`);
    } catch (e) {
      return this.downWarning(e);
    }
    if (raw === undefined) return undefined;
    const bad = manifestProblem(raw, key);
    if (bad) return void this.opts.warnings.warn('manifest', `the manifest of ${key.slice(0, 12)} ${bad}: not used (a miss)`);
    const m = raw as Manifest;
    const sig = checkSignature(m, this.opts.trusted);
    if ('problem' in sig) return void this.opts.warnings.warn(sig.kind, `${key.slice(0, 12)}: ${sig.problem}: not used (a miss)`);
    const staging = this.cache.newStagingDir(key);
    let committed = false;
    try {
      // The files of one entry at once (the client bounds the transfers); all settle before the
      // staging folder can be discarded.
      const files = Object.entries(m.outputs);
      const settled = await Promise.allSettled(files.map(([name, f]) => this.http.download(`cas/${f.sha256}`, `${staging}/${name}`, f.sha256, f.bytes, (n) => (this.bytesMoved += n))));
      const thrown = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (thrown) throw thrown.reason;
      for (const r of settled) {
        const got = (r as PromiseFulfilledResult<Download>).value;
        if (!got.ok) return void this.opts.warnings.warn(got.missing ? 'missing' : 'object', `${key.slice(0, 12)} (${m.id}): ${got.problem}: not used (a miss)`);
      }
      const bytes = files.reduce((n, [, f]) => n + f.bytes, 0);
      const { signature: _sig, executor: _executor, ...meta } = m;
      const local: NodeMeta = { ...meta, origin: { remote: this.opts.label ?? this.http.where, signer: sig.signer, pulled: new Date().toISOString() } };
      await this.cache.commit(staging, local);
      committed = true;
      this.pulled.entries++;
      this.pulled.files += Object.keys(m.outputs).length;
      this.pulled.bytes += bytes;
      return this.cache.readMeta(key);
    } catch (e) {
      return this.downWarning(e);
    } finally {
      if (!committed && existsSync(staging)) this.cache.discard(staging);
    }
  }

  /** Writes the local entry of `key` to the server: files first, the signed manifest last. */
  async push(key: string): Promise<'pushed' | 'present' | 'absent'> {
    const writer = this.opts.writer;
    if (!writer) throw new Error('push needs a writer key');
    const meta = this.cache.readMeta(key);
    if (!meta) return 'absent';
    const present = (await this.http.head(`ac/${key}`)) !== undefined;
    const dir = this.cache.entryDir(key);
    // Files first. Also under a manifest the server has: an object evicted or cut short behind it
    // is written again (a reader would otherwise miss it for good).
    for (const [name, f] of Object.entries(meta.outputs)) {
      const have = await this.http.head(`cas/${f.sha256}`);
      if (have === f.bytes) continue;
      await this.http.upload(`cas/${f.sha256}`, `${dir}/${name}`, f.bytes, (n) => (this.bytesMoved += n));
      this.pushed.files++;
      this.pushed.bytes += f.bytes;
    }
    if (present) {
      this.pushed.skipped++;
      return 'present';
    }
    const { origin: _origin, ...clean } = meta;
    const manifest = signManifest(clean, writer);
    await this.http.put(`ac/${key}`, Buffer.from(JSON.stringify(manifest)));
    this.pushed.entries++;
    return 'pushed';
  }
}
