/**
 * Keeps the files a config names (data files, `extends`, `include`) inside the folders the user
 * chose. Symbolic links are resolved before the check, so a link inside the project that points
 * at /etc/passwd is outside.
 */
import { realpathSync } from 'node:fs';
import { relative, resolve, isAbsolute, sep } from 'node:path';

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    // A missing file: its folder may still be checked (the caller reports "not found").
    return resolve(path);
  }
}

/** True when `path` (after resolving links) is `folder` or lies below it (after resolving links). */
export function isInside(folder: string, path: string): boolean {
  const r = relative(real(folder), real(path));
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}

/** True when `path` lies inside any of `folders`. */
export function isInsideAny(folders: readonly string[], path: string): boolean {
  return folders.some((f) => isInside(f, path));
}
