/**
 * The store behind the scheduler's one probe, in layers: the local cache first, then (when one
 * is configured) a remote cache, whose hits are filed locally before they are used. The scheduler
 * knows nothing of remotes: it asks `probe` and gets an entry's digest (and meta when read).
 */
import type { Cache, NodeMeta } from './cache.ts';

/** What the last run recorded of a node (store/history.ts): a hint, checked by its stamp. */
export interface EntryHint {
  key: string;
  digest: string;
  stamp?: string;
}

export interface Hit {
  digest: string;
  meta?: NodeMeta;
  /** Fetched from the remote layer by this probe. */
  pulled?: boolean;
}

/** A layer below the local cache: fetches an entry into it, or misses. */
export interface LowerLayer {
  fetch(key: string): Promise<NodeMeta | undefined>;
}

export class LayeredStore {
  constructor(
    readonly cache: Cache,
    private readonly lower?: LowerLayer,
  ) {}

  /**
   * A complete entry under the key. The hint spares reading meta.json only while the meta's
   * stamp (one stat) still matches the recorded one: a stale or damaged hint costs a read of
   * meta.json, never a wrong digest in a dependant's key.
   */
  async probe(key: string, hint?: EntryHint): Promise<Hit | undefined> {
    if (hint?.stamp && hint.key === key && this.cache.metaStamp(key, hint.digest) === hint.stamp) return { digest: hint.digest };
    const meta = this.cache.checkedMeta(key);
    if (meta) return { digest: meta.digest, meta };
    if (!this.lower) return undefined;
    const pulled = await this.lower.fetch(key);
    return pulled ? { digest: pulled.digest, meta: pulled, pulled: true } : undefined;
  }
}
