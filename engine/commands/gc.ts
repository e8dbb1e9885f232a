/** `pipeline gc`: removes entries no target's recent runs use, never while a build uses the cache. */
import { existsSync } from 'node:fs';
import { requireCache } from '../store/cache.ts';
import { removeFailureLogs } from '../run/node-log.ts';
import { openSession, type SessionOptions } from '../run/session.ts';
import { requireNoOtherUsers } from './exclusive.ts';

export interface GcResult {
  removed: number;
  bytes: number;
  kept: number;
  dryRun: boolean;
}

/** Keeps every entry that one of each target's last `keepLast` runs used; removes the rest. */
export function gcCommand(opts: SessionOptions & { dryRun?: boolean; keepLast?: number }): GcResult {
  const s = openSession(opts);
  if (!existsSync(s.cache.dir)) return { removed: 0, bytes: 0, kept: 0, dryRun: !!opts.dryRun };
  requireCache(s.cache.dir);
  const closeLease = opts.dryRun ? () => {} : s.cache.openLease('gc');
  try {
    if (!opts.dryRun) requireNoOtherUsers(s.cache, 'gc');
    const keep = new Set<string>();
    for (const runs of Object.values(s.cache.allRefs())) for (const run of runs.slice(0, opts.keepLast ?? 1)) for (const k of Object.values(run.nodes)) keep.add(k);
    let removed = 0;
    let bytes = 0;
    let kept = 0;
    for (const key of [...s.cache.keys()]) {
      if (keep.has(key)) {
        kept++;
        continue;
      }
      removed++;
      bytes += s.cache.entryBytes(key);
      // One rename out of objects/, then the delete: a kill leaves no half entry.
      if (!opts.dryRun) s.cache.remove(key);
    }
    if (!opts.dryRun) {
      s.cache.sweep();
      removeFailureLogs(s.cache.dir, keep);
    }
    return { removed, bytes, kept, dryRun: !!opts.dryRun };
  } finally {
    closeLease();
  }
}
