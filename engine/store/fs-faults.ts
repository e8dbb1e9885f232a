/**
 * Filesystem faults said plainly: a full disk, a read-only or forbidden folder, a file where a
 * folder belongs, too many open files. Each becomes one line that says what failed, where, and what
 * to do, instead of a Node error with a stack. The CLI prints these for errors outside any node;
 * a job's worker uses them for a node whose outputs cannot be written. The disk, not the request
 * or a stage, is at fault: such runs exit with their own code.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Exit code of a run ended by a filesystem fault (1: a node failed; 2: bad input). */
export const FS_FAULT_EXIT_CODE = 3;

interface SystemError {
  code: string;
  message?: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

/** A place the message can name: "the cache (/x/cache)", with what to do about it. */
export interface Place {
  dir: string;
  name: string;
  /** What else to do there, e.g. ", or choose another folder with --cache-dir". */
  alternative?: string;
}

/** The cache as a place in fault messages (the CLI, the worker and the executors say it alike). */
export function cachePlace(dir: string): Place {
  return { dir, name: 'the cache', alternative: ', or choose another folder with --cache-dir' };
}

const WHAT: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'not a folder',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

const TO_DO: Record<string, string> = {
  ENOSPC: 'free some space (pipeline gc removes entries no recent run used) and run again',
  EDQUOT: 'free some space within your quota (pipeline gc removes entries no recent run used) and run again',
  EROFS: 'remount it writable',
  EACCES: "make it writable for this user (check the folder's owner and mode)",
  EPERM: 'make it writable for this user (check its mode and attributes: lsattr, chattr -i)',
  ENOTDIR: 'move that file away',
  EMFILE: 'raise the limit (ulimit -n) or run fewer nodes at once (--jobs)',
  ENFILE: 'close other programs or run fewer nodes at once (--jobs)',
};

const DOING: Record<string, string> = {
  mkdir: 'create the folder',
  open: 'open',
  write: 'write',
  read: 'read',
  rename: 'move',
  unlink: 'delete',
  rmdir: 'delete the folder',
  rm: 'delete',
  scandir: 'list the folder',
  copyfile: 'copy',
  stat: 'inspect',
  lstat: 'inspect',
  fsync: 'flush',
  close: 'close',
  utime: 'touch',
  chmod: 'change the mode of',
  symlink: 'link',
  link: 'link',
  worker: 'start a worker thread',
};

function systemError(err: unknown): SystemError | undefined {
  const e = err as Partial<SystemError> | null;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string') return undefined;
  // Node says "Worker initialization failure: EMFILE" when a worker thread cannot start.
  const worker = e.code === 'ERR_WORKER_INIT_FAILED' ? /\b(E[A-Z]+)\b/.exec(e.message ?? '')?.[1] : undefined;
  return worker ? { code: worker, syscall: 'worker' } : (e as SystemError);
}

/**
 * A recursive mkdir under a folder it may not write reports ENOENT for the path it could not make.
 * Says which fault it really is, from the nearest folder that exists.
 */
function unmaskedCode(e: SystemError): { code: string; at?: string } | undefined {
  if (e.code !== 'ENOENT' || e.syscall !== 'mkdir' || !e.path) return undefined;
  let dir = dirname(e.path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (inner) {
    const code = systemError(inner)?.code;
    return code && code in WHAT ? { code, at: dir } : undefined;
  }
}

/** The fault's code when err is one of the filesystem faults said plainly, else undefined. */
export function fsFaultCode(err: unknown): string | undefined {
  const e = systemError(err);
  if (!e) return undefined;
  if (e.code in WHAT) return e.code;
  return unmaskedCode(e)?.code;
}

/** For ENOTDIR: the file that stands where a folder of path belongs. */
function fileInTheWay(path: string): string | undefined {
  for (let dir = dirname(path); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      if (!statSync(dir).isDirectory()) return dir;
    } catch {
      // not there (or not reachable): look further up
    }
  }
  return undefined;
}

function placeOf(path: string, places: readonly Place[]): Place | undefined {
  return places.find((p) => path === p.dir || path.startsWith(`${p.dir}/`));
}

/**
 * One line for a filesystem fault, e.g. "no space left on the device (ENOSPC): could not create
 * the folder /x/cache/staging/ab12.41.0 in the cache (/x/cache): free some space ...".
 * Undefined when err is not one. near: the folder being written, for errors that name no path
 * (a failed write(2) on an open file).
 */
export function describeFsFault(err: unknown, places: readonly Place[] = [], near?: string): string | undefined {
  const e = systemError(err);
  if (!e) return undefined;
  const unmasked = unmaskedCode(e);
  const code = e.code in WHAT ? e.code : unmasked?.code;
  if (!code) return undefined;
  const path = e.path ?? near ?? '';
  const doing = DOING[e.syscall ?? ''] ?? e.syscall ?? 'use';
  const target = e.dest ? `${path} to ${e.dest}` : e.path ? path : near ? `in ${near}` : '';
  const where = target ? ` ${target}` : '';
  const file = code === 'ENOTDIR' && path ? fileInTheWay(path) : undefined;
  const blocked = unmasked?.at ? ` (${unmasked.at} is not writable)` : file ? ` (${file} is a file)` : '';
  const place = path ? placeOf(path, places) : undefined;
  const inPlace = place ? ` in ${place.name} (${place.dir})` : '';
  const alternative = place?.alternative && code !== 'EMFILE' && code !== 'ENFILE' ? place.alternative : '';
  return `${WHAT[code]} (${code}): could not ${doing}${where}${blocked}${inPlace}: ${TO_DO[code]}${alternative}`;
}

/** Whether a node's error says a filesystem fault (as describeFsFault writes it, or as Node does: "ENOSPC: ..."). */
export function isFsFaultMessage(message: string): boolean {
  return Object.entries(WHAT).some(([code, what]) => message.startsWith(`${what} (${code})`) || message.startsWith(`${code}:`));
}
