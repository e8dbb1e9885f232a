/**
 * A jobserver in the manner of make's: one count of idle cores in shared memory, which every
 * job-worker thread of a run sees. The executor takes a core for each job it runs; a job may
 * borrow idle cores for a stretch of parallel work and gives them back when it ends. So a lone
 * long node at the end of a build (fig7's EoS solve) gets both cores, and a full build is not
 * oversubscribed. Whatever borrows must give the same bits with any number of cores: the count
 * depends on what else is running, and it is in no node key.
 */
import { availableParallelism } from 'node:os';
import { workerData } from 'node:worker_threads';

/** The workerData key under which executors hand the count to their worker threads. */
export const IDLE_CORES_KEY = 'pipelineIdleCores';

/** A fresh count for a run: every core idle. */
export function createIdleCores(): SharedArrayBuffer {
  const buf = new SharedArrayBuffer(4);
  Atomics.store(new Int32Array(buf), 0, availableParallelism());
  return buf;
}

let local: Int32Array | undefined;

function counter(): Int32Array {
  const shared = (workerData as Record<string, unknown> | null)?.[IDLE_CORES_KEY];
  if (shared instanceof SharedArrayBuffer) return new Int32Array(shared);
  // Outside an executor (tests, the bench): this thread holds one core; the rest are idle.
  if (!local) {
    local = new Int32Array(new SharedArrayBuffer(4));
    local[0] = availableParallelism() - 1;
  }
  return local;
}

/** Takes up to `wanted` idle cores; returns how many it got (maybe 0). */
export function borrowCores(wanted: number): number {
  const c = counter();
  for (;;) {
    const idle = Atomics.load(c, 0);
    const take = Math.min(wanted, idle);
    if (take <= 0) return 0;
    if (Atomics.compareExchange(c, 0, idle, idle - take) === idle) return take;
  }
}

export function returnCores(n: number): void {
  if (n > 0) Atomics.add(counter(), 0, n);
}

/** The executor's side: a job starts (takes a core) or ends (gives it back). */
export function jobStarted(buf: SharedArrayBuffer, cores = 1): void {
  Atomics.sub(new Int32Array(buf), 0, cores);
}

export function jobEnded(buf: SharedArrayBuffer, cores = 1): void {
  Atomics.add(new Int32Array(buf), 0, cores);
}
