/** Durable file writes: a commit that survives power loss needs its bytes on disk before the rename. */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ownerTag, self } from './owner.ts';

/** PIPELINE_FSYNC=0 turns the fsyncs off (a scratch cache on tmpfs gains nothing from them). */
const durable = process.env.PIPELINE_FSYNC !== '0';

export function writeFileDurable(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename or a new file in `dir` durable. */
export function syncDir(dir: string): void {
  if (!durable) return;
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory (EINVAL); the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

let tmpCount = 0;

/** Whole or not at all: readers see the old file or the new one. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${ownerTag(self())}.${tmpCount++}.tmp`;
  writeFileDurable(tmp, data);
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/**
 * writeFileDurable and syncDir off the event loop (libuv's thread pool): a run's commits then
 * overlap instead of queueing behind each other's fsyncs in the scheduler's thread.
 */
export async function writeFileDurableAsync(path: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function syncDirAsync(dir: string): Promise<void> {
  if (!durable) return;
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory (EINVAL); the rename itself is still atomic.
  } finally {
    await fh?.close();
  }
}
