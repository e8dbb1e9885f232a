/** The `local` executor: nodes run in worker threads of this process, one per job slot. */
import type { Cache } from '../store/cache.ts';
import type { ExecOutcome, Executor, NodeJob } from './job.ts';
import { runNodeHere } from './run-here.ts';
import { WorkerPool } from './worker-pool.ts';

export class LocalExecutor implements Executor {
  readonly name = 'local';
  /** A node's `threads` take that many of the pool's slots (scheduler.ts). */
  readonly threadSlots = true;
  private pool: Promise<WorkerPool> | undefined;
  private jobCounter = 0;

  constructor(
    private readonly cache: Cache,
    readonly slots: number,
    /** The worker's bundled entry, built on first use: a run where all is cached starts no thread. */
    private readonly workerFile: () => Promise<string>,
    /** GPU devices handed out one set per job (gpus.ts); none by default. */
    readonly gpuDevices: string[] = [],
  ) {}

  private getPool(): Promise<WorkerPool> {
    return (this.pool ??= this.workerFile().then((f) => new WorkerPool(this.slots, f)));
  }

  execute(job: NodeJob, onProgress: (fraction: number, note?: string) => void): Promise<ExecOutcome> {
    return runNodeHere(this.cache, async (j, p) => (await this.getPool()).run(j, p), job, this.jobCounter++, onProgress);
  }

  async close(): Promise<void> {
    if (this.pool) await (await this.pool).close();
  }
}
