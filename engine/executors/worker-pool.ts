/**
 * A pool of worker threads (one per job slot) that run stage jobs, so CPU-bound stages use every
 * core. Workers start on first use: a run where everything is cached starts none.
 */
import { Worker } from 'node:worker_threads';
import { createIdleCores, IDLE_CORES_KEY, jobEnded, jobStarted } from '../core-tokens.ts';
import { JobFailedError, type Job, type JobResult, type WorkerMessage } from './job.ts';

interface Slot {
  worker: Worker;
  busy: boolean;
}

export class WorkerPool {
  private slots: Slot[] = [];
  private waiting: ((slot: Slot) => void)[] = [];
  private closed = false;
  /** Shared with the workers: jobs may borrow the cores no other job is using (core-tokens.ts). */
  private readonly idleCores = createIdleCores();

  constructor(
    readonly size: number,
    private readonly workerFile: string,
  ) {}

  private spawn(): Slot {
    return { worker: new Worker(this.workerFile, { workerData: { [IDLE_CORES_KEY]: this.idleCores } }), busy: false };
  }

  /** Marks the slot busy before returning, so that two callers never share a worker. */
  private acquire(): Promise<Slot> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    let slot = this.slots.find((s) => !s.busy);
    if (!slot && this.slots.length < this.size) {
      slot = this.spawn();
      this.slots.push(slot);
    }
    if (slot) {
      slot.busy = true;
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next(slot); // handed over still busy
    else slot.busy = false;
  }

  async run(job: Job, onProgress: (fraction: number, note?: string) => void): Promise<JobResult> {
    const slot = await this.acquire();
    // A job of `threads: k` holds k cores: nothing borrows the cores it was given.
    const cores = Math.max(1, job.threads ?? 1);
    jobStarted(this.idleCores, cores);
    try {
      return await new Promise<JobResult>((resolve, reject) => {
        const onMessage = (m: WorkerMessage) => {
          if (m.jobId !== job.jobId) return;
          if (m.type === 'progress') onProgress(m.fraction, m.note);
          else {
            cleanup();
            if (m.type === 'done') resolve(m.result);
            else reject(new JobFailedError(m.failure));
          }
        };
        const onExit = (code: number) => {
          cleanup();
          // The worker died (out of memory, process.exit in a stage): replace it for the next
          // job, unless the pool is closing (a replacement would keep the process alive).
          if (!this.closed) slot.worker = this.spawn().worker;
          reject(new JobFailedError({ message: `worker thread exited with code ${code} while running ${job.nodeId}` }));
        };
        const cleanup = () => {
          slot.worker.off('message', onMessage);
          slot.worker.off('exit', onExit);
        };
        slot.worker.on('message', onMessage);
        slot.worker.on('exit', onExit);
        slot.worker.postMessage(job);
      });
    } finally {
      jobEnded(this.idleCores, cores);
      this.release(slot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }
}
