/**
 * gc and clean remove entries; a build must never lose an entry it holds or has just made. Both
 * sides announce themselves with a lease in runs/ before looking at the other's: a build that
 * sees a live gc waits for it; a gc that sees a live build refuses. Since each writes before it
 * reads, at least one of two concurrent starters sees the other.
 */
import type { Cache } from '../store/cache.ts';
import { PipelineError } from '../errors.ts';

const REMOVERS = new Set(['gc', 'clean']);
const POLL_MS = 200;

/** For a build: waits while a gc or clean runs on this cache (saying so). */
export async function waitForExclusiveUsers(cache: Cache, quiet?: boolean): Promise<void> {
  let said = false;
  for (;;) {
    const removers = cache.liveLeases().filter((l) => REMOVERS.has(l.role));
    if (!removers.length) return;
    if (!said && !quiet) process.stderr.write(`waiting: ${removers.map((r) => r.description).join('; ')} is removing entries from ${cache.dir}\n`);
    said = true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** For gc and clean: refuses while any other process uses the cache. */
export function requireNoOtherUsers(cache: Cache, what: string): void {
  const others = cache.liveLeases();
  if (others.length) {
    throw new PipelineError(`the cache ${cache.dir} is in use (${others.map((o) => o.description).join('; ')}); run it again when they have ended`, { key: what });
  }
}
