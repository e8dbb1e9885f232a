/**
 * Runs the TypeScript backend's row kernels (row-kernels.ts) on several threads, synchronously:
 * the linear-algebra interface is synchronous, like the OpenBLAS one it stands in for.
 *
 * Helper threads are started once per thread that uses them and then sleep in Atomics.wait. A
 * request is a message on the helper's port (read with receiveMessageOnPort, so no event loop is
 * involved) plus a bump of a shared counter; the caller does share 0 itself and then waits for
 * the helpers' counters. The helpers run the kernels' own source text (Function.prototype.toString),
 * which works the same under tsx, in esbuild bundles and in worker threads, with no file to find.
 *
 * How many threads an operation gets comes from the run's jobserver (engine/core-tokens.ts): only
 * cores no other job is using. The kernels give the same bits with any count, so it is in no key.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { borrowCores, returnCores } from '../engine/core-tokens.ts';
import { ROW_KERNELS } from './row-kernels.ts';

type RowKernel = (...args: any[]) => void;

interface Helper {
  port: MessagePort;
  /** [0]: requests posted, [1]: requests finished, [2]: 1 if the last request threw, [3]: 1 once started. */
  ctl: Int32Array;
  posted: number;
}

const HELPER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const __name = (f) => f; // tsx's keepNames may wrap inner functions
${ROW_KERNELS.map((k) => k.toString()).join('\n')}
const kernels = { ${ROW_KERNELS.map((k) => `${JSON.stringify(k.name)}: ${k.name}`).join(', ')} };
const { port, ctl } = workerData;
const c = new Int32Array(ctl);
Atomics.store(c, 3, 1);
Atomics.notify(c, 3);
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  let m;
  while (!(m = receiveMessageOnPort(port))) {}
  const { kernel, args, part, parts } = m.message;
  try {
    Atomics.store(c, 2, 0);
    kernels[kernel](...args, part, parts);
  } catch (e) {
    Atomics.store(c, 2, 1);
    port.postMessage(String((e && e.stack) || e));
  }
  Atomics.add(c, 1, 1);
  Atomics.notify(c, 1);
}`;

const helpers: Helper[] = [];
/** Set when a helper did not start: from then on every operation runs on its caller's thread. */
let helpersUnavailable = false;
const START_TIMEOUT_MS = 20_000;

/**
 * Starts a helper and waits until its loop runs; undefined if it does not. A helper that never
 * starts (its source failed to compile, the thread could not be made) would otherwise leave its
 * caller waiting forever. (Exported for a test, which gives it a broken source.)
 */
export function startHelper(source = HELPER_SOURCE, timeoutMs = START_TIMEOUT_MS): Helper | undefined {
  const { port1, port2 } = new MessageChannel();
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  let worker: Worker | undefined;
  try {
    worker = new Worker(source, { eval: true, workerData: { port: port2, ctl: ctl.buffer }, transferList: [port2] });
    // Sleeping helpers must not keep a finished program alive; exit ends them wherever they are.
    worker.unref();
    // A helper's own failure to start is handled below (it never signals); kernel errors come
    // back through the port. Without a listener, the error event would end the whole program.
    worker.on('error', () => {});
  } catch {
    // reported below
  }
  if (worker && Atomics.wait(ctl, 3, 0, timeoutMs) !== 'timed-out') return { port: port1, ctl, posted: 0 };
  void worker?.terminate();
  return undefined;
}

/** A helper round trip costs ~30 µs: a request with fewer multiply-adds runs on its caller alone. */
const MIN_WORK_PER_REQUEST = 1 << 17;
/** An operation with fewer multiply-adds in all asks for no helpers. */
const MIN_WORK_PER_OPERATION = 1 << 20;

/** A set of threads for one operation: this one plus `helpers`. */
export class Team {
  /** Shared copies already made for this operation, by source array. */
  private readonly copies = new Map<Float64Array, Float64Array>();

  constructor(private readonly members: Helper[]) {}

  get size(): number {
    return this.members.length + 1;
  }

  /** A zeroed array the whole team can write: shared memory when there are helpers. */
  alloc(length: number): Float64Array {
    return this.size > 1 ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
  }

  /** `a` itself, or a copy in shared memory the helpers can read (one per array and operation). */
  share(a: Float64Array): Float64Array {
    if (this.size === 1 || a.buffer instanceof SharedArrayBuffer) return a;
    let s = this.copies.get(a);
    if (!s) {
      s = this.alloc(a.length);
      s.set(a);
      this.copies.set(a, s);
    }
    return s;
  }

  /**
   * Runs kernel(...args, part, size) for every part; returns when all are done. `work`
   * (multiply-adds): below MIN_WORK_PER_REQUEST the caller does it all, as one part.
   */
  run(kernel: RowKernel, args: unknown[], work = Infinity): void {
    const parts = work < MIN_WORK_PER_REQUEST ? 1 : this.size;
    if (parts === 1) return kernel(...args, 0, 1);
    for (const a of args) {
      if (ArrayBuffer.isView(a) && !(a.buffer instanceof SharedArrayBuffer)) throw new Error(`${kernel.name}: an array argument is not in shared memory`);
    }
    this.members.forEach((h, i) => {
      h.port.postMessage({ kernel: kernel.name, args, part: i + 1, parts });
      h.posted++;
      Atomics.store(h.ctl, 0, h.posted);
      Atomics.notify(h.ctl, 0);
    });
    let failure: unknown;
    try {
      kernel(...args, 0, parts);
    } catch (e) {
      failure = e;
    }
    // Always wait: a helper must not still be writing when the caller moves on.
    for (const h of this.members) {
      for (let done = Atomics.load(h.ctl, 1); done !== h.posted; done = Atomics.load(h.ctl, 1)) Atomics.wait(h.ctl, 1, done);
      if (Atomics.load(h.ctl, 2) === 1) failure ??= new Error(`helper thread failed in ${kernel.name}: ${receiveMessageOnPort(h.port)?.message}`);
    }
    if (failure) throw failure;
  }

  /** A result that lives on after the operation: copied out of shared memory if it is there. */
  own(a: Float64Array): Float64Array {
    return a.buffer instanceof SharedArrayBuffer ? new Float64Array(a) : a;
  }
}

/** Set by withThreads (tests, the bench): an exact thread count instead of borrowed cores. */
let forcedThreads: number | undefined;

function threadLimit(): number {
  const env = process.env.PIPELINE_JS_THREADS;
  if (env === undefined) return availableParallelism();
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`PIPELINE_JS_THREADS must be a whole number >= 1, got "${env}"`);
  return n;
}

/**
 * Runs fn with a team for an operation of `work` multiply-adds: this thread plus a helper for
 * each idle core the jobserver lends (PIPELINE_JS_THREADS caps the total), given back when fn
 * returns. Small operations get no helpers.
 */
export function withTeam<T>(work: number, fn: (team: Team) => T): T {
  const wanted = work < MIN_WORK_PER_OPERATION ? 0 : (forcedThreads ?? threadLimit()) - 1;
  const borrowed = forcedThreads === undefined ? borrowCores(wanted) : 0;
  const count = forcedThreads === undefined ? borrowed : wanted;
  while (helpers.length < count && !helpersUnavailable) {
    const h = startHelper();
    if (h) helpers.push(h);
    else {
      // Reported once; the work runs on the threads there are, with the same bits.
      helpersUnavailable = true;
      process.emitWarning('a helper thread for the TypeScript linear algebra did not start: it runs on fewer threads (same results, slower)');
    }
  }
  try {
    return fn(new Team(helpers.slice(0, count)));
  } finally {
    returnCores(borrowed);
  }
}

/** Runs fn with exactly n threads per operation, idle cores or not (tests compare counts; the bench). */
export function withThreads<T>(n: number, fn: () => T): T {
  const before = forcedThreads;
  forcedThreads = n;
  try {
    return fn();
  } finally {
    forcedThreads = before;
  }
}
