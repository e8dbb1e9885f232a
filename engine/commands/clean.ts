/** `pipeline clean`: deletes a whole cache (only a folder that is one, and nobody using it). */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { requireCache } from '../store/cache.ts';
import { ownerTag, self } from '../store/owner.ts';
import { openSession, type SessionOptions } from '../run/session.ts';
import { requireNoOtherUsers } from './exclusive.ts';

export function cleanCommand(opts: SessionOptions): { removed: string } {
  const s = openSession(opts);
  if (!existsSync(s.cache.dir)) return { removed: s.cache.dir };
  requireCache(s.cache.dir);
  const closeLease = s.cache.openLease('clean');
  try {
    requireNoOtherUsers(s.cache, 'clean');
  } catch (e) {
    closeLease();
    throw e;
  }
  // Renamed away first: a killed clean leaves either the whole cache or none of it in place.
  const aside = `${s.cache.dir}.deleting-${ownerTag(self())}`;
  renameSync(s.cache.dir, aside);
  rmSync(aside, { recursive: true, force: true });
  return { removed: s.cache.dir };
}
