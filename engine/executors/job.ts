/** Messages between the scheduler and an executor's workers. */
import type { OutputFile } from '../cache.ts';
import type { JobInputs } from '../outputs.ts';

export interface Job {
  jobId: number;
  nodeId: string;
  bundle: string;
  params: Record<string, unknown>;
  inputs: JobInputs;
  outDir: string;
  /** Project root: `file` params are relative to it. */
  root: string;
}

export interface JobResult {
  outputs: Record<string, OutputFile>;
  seconds: number;
  log: string[];
}

export type WorkerMessage =
  | { type: 'progress'; jobId: number; fraction: number; note?: string }
  | { type: 'done'; jobId: number; result: JobResult }
  | { type: 'error'; jobId: number; message: string; stack?: string };

export interface Executor {
  run(job: Job, onProgress: (fraction: number, note?: string) => void): Promise<JobResult>;
  close(): Promise<void>;
}
